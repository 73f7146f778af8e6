package keys

import (
	"fmt"
	"os"
)

// DefaultEnv is the environment variable FromEnv reads when the
// configuration names none.
const DefaultEnv = "CARDCENTER_KEK"

// FromEnv opens the software KEK held in an environment variable as 64
// hex digits. The error names the variable and what is wrong with it,
// never its value. The variable stays in the environment (child processes
// inherit it): unset it after start when that matters.
func FromEnv(name string) (KEK, error) {
	if name == "" {
		return nil, fmt.Errorf("keys: master key variable: no name given")
	}
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return nil, fmt.Errorf("keys: master key variable %s is not set", name)
	}
	raw := []byte(v)
	defer wipe(raw)
	if raw[len(raw)-1] == '\n' {
		return nil, fmt.Errorf("keys: master key variable %s: ends in a newline; want exactly %d hex digits", name, 2*KeyBytes)
	}
	key, err := decodeHexKey(raw)
	if err != nil {
		return nil, fmt.Errorf("keys: master key variable %s: %v", name, err)
	}
	defer wipe(key)
	return NewSoftware(key)
}
