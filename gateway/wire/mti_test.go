package wire

import "testing"

// TestResponseMTI: the contract's requests, answered from ResponseMTI's
// table, get what the rule (third digit plus one, last digit 0) gives,
// and an MTI outside the table still follows the rule.
func TestResponseMTI(t *testing.T) {
	rule := func(mti string) string {
		b := []byte(mti)
		b[2] = '0' + (b[2]-'0'+1)%10
		b[3] = '0'
		return string(b)
	}
	for _, mti := range append(RequestMTIs(), "0600", "0190", "0302") {
		if got, want := ResponseMTI(mti), rule(mti); got != want {
			t.Errorf("ResponseMTI(%s) = %s, want %s", mti, got, want)
		}
	}
	if got := ResponseMTI("080"); got != "080" {
		t.Errorf("ResponseMTI(080) = %q, want it unchanged", got)
	}
}
