//go:build !cgo

package keys

import "errors"

// OpenPKCS11 needs cgo (the PKCS#11 library is C); this binary was built
// without it.
func OpenPKCS11(cfg PKCS11Config) (KEK, error) {
	return nil, errors.New("keys: pkcs11: this binary was built without cgo (CGO_ENABLED=0); rebuild with cgo to use a PKCS#11 token, or use source file or env")
}
