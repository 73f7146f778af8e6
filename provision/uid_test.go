package provision

import (
	"os"
	"strings"
	"testing"
)

// cards[].uid: read in any case with separators, stored upper-case; a bad
// one or one given twice is refused naming the key and the value.
func TestCardUID(t *testing.T) {
	demo, err := os.ReadFile("../testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(demo)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := f.CardByUID("04A1B2C3D4E5F6")
	if bob, _ := f.Alias("bob"); !ok || a.PAN != bob.PAN || bob.UID != "04A1B2C3D4E5F6" {
		t.Fatalf("uid of bob: %v %v", ok, a)
	}
	for _, c := range []struct{ in, want string }{
		{"04:a1:b2:c3", "04A1B2C3"}, {"04 A1 B2 C3 D4 E5 F6", "04A1B2C3D4E5F6"},
	} {
		if got, err := ParseUID(c.in); err != nil || got != c.want {
			t.Errorf("ParseUID(%q) = %q, %v", c.in, got, err)
		}
	}
	text := string(demo)
	bad := strings.Replace(text, `uid: "04A1B2C3D4E5F6"`, `uid: "04A1B2"`, 1)
	if _, err := Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), `uid: "04A1B2": 3 bytes, want 4, 7 or 10`) {
		t.Errorf("short uid: %v", err)
	}
	twice := strings.Replace(text, "  - name: carol\n", "  - name: carol\n    uid: \"04a1b2c3d4e5f6\"\n", 1)
	if _, err := Parse([]byte(twice)); err == nil || !strings.Contains(err.Error(), `uid: "04A1B2C3D4E5F6" given twice`) {
		t.Errorf("uid twice: %v", err)
	}
}
