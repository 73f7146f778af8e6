package keys

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/cardcenter/cardcenter/internal/privdir"
)

const (
	// DefaultPINEnv holds the token's user PIN when the configuration
	// names no other source for it.
	DefaultPINEnv = "CARDCENTER_PKCS11_PIN"
	// maxPINBytes bounds a PIN read from a file or a variable (PKCS#11
	// tokens take far less).
	maxPINBytes = 256
)

// userPIN resolves the PIN of a PKCS#11 configuration from exactly one
// source. Errors name the source, never the PIN.
func (c PKCS11Config) userPIN() (string, error) {
	set := 0
	for _, s := range []string{c.PIN, c.PINFile, c.PINEnv} {
		if s != "" {
			set++
		}
	}
	if set > 1 {
		return "", fmt.Errorf("keys: pkcs11: give the PIN one way: pin, pin_file or pin_env")
	}
	switch {
	case c.PIN != "":
		return c.PIN, nil
	case c.PINFile != "":
		return readPINFile(c.PINFile)
	}
	name := c.PINEnv
	if name == "" {
		name = DefaultPINEnv
	}
	pin := os.Getenv(name)
	if pin == "" {
		return "", fmt.Errorf("keys: pkcs11: PIN variable %s is not set (or set pin_file)", name)
	}
	if len(pin) > maxPINBytes {
		return "", fmt.Errorf("keys: pkcs11: PIN variable %s: longer than %d bytes", name, maxPINBytes)
	}
	return pin, nil
}

// readPINFile reads a PIN file: mode 0600 like a key file, one line.
func readPINFile(path string) (string, error) {
	raw, err := privdir.ReadSecretFile(path, maxPINBytes)
	defer wipe(raw)
	if err != nil && !errors.Is(err, privdir.ErrTooLarge) {
		return "", fmt.Errorf("keys: pkcs11: PIN file: %w", err)
	}
	pin := bytes.TrimRight(raw, "\r\n")
	if err != nil || len(pin) == 0 || bytes.ContainsAny(pin, "\r\n") {
		return "", fmt.Errorf("keys: pkcs11: PIN file %s: want one line of 1..%d bytes", path, maxPINBytes)
	}
	return string(pin), nil
}
