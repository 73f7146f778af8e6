package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/internal/fuzzseed"
	"github.com/cardcenter/cardcenter/provision"
)

// FuzzConfigDecode: decoding a configuration file never panics, and a
// failure is a non-empty list of problems, each with a key path or a line,
// none of them a Go type dump.
func FuzzConfigDecode(f *testing.F) {
	fuzzseed.Add(f, "FuzzConfigDecode")
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Config
		err := provision.DecodeStrict(data, &c)
		if err == nil {
			c.defaults()
			_ = c.validate()
			return
		}
		var l provision.ErrorList
		if !errors.As(err, &l) || len(l) == 0 {
			t.Fatalf("error is not a non-empty ErrorList: %T %v", err, err)
		}
		for _, e := range l {
			if e.Path == "" && e.Line == 0 && !strings.HasPrefix(e.Msg, "YAML syntax") {
				t.Errorf("problem without key or line: %v", e)
			}
		}
		if strings.Contains(err.Error(), "struct {") {
			t.Fatalf("error shows a Go type: %v", err)
		}
	})
}
