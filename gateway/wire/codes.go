package wire

// The closed sets of field 3 and field 39 values the contract defines:
// for whoever must tell a defined value from anything a terminal made up
// (the host's metrics label by them, so a hostile terminal cannot grow
// the label sets).

// ProcessingCodes are the field 3 values of the contract's requests
// (section 3, table "Messages"), in ascending order. Reversals and
// uploads carry their original's, which is one of these.
func ProcessingCodes() []string {
	return []string{"000000", "020000", "200000", "210000", "310000", "900000", "910000", "920000", "960000"}
}

// ResponseCodes are the field 39 values of the contract (section 5), in
// ascending order. The gateway's table of internal errors (gateway/rc.go)
// maps every decision onto one of them; a test holds the two together.
func ResponseCodes() []string {
	return []string{"00", "03", "05", "12", "13", "14", "25", "30", "41", "43", "51", "54", "55",
		"57", "58", "61", "62", "63", "65", "75", "94", "95", "96"}
}
