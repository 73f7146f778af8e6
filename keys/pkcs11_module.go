//go:build cgo

package keys

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/miekg/pkcs11"
)

// module is one loaded PKCS#11 library, shared by every KEK of this
// process that uses it. Sharing is not an optimisation: C_Initialize and
// C_Finalize act on the whole process (a second Initialize fails, and one
// KEK's Finalize would end every other's sessions), and the login state
// belongs to the token, shared by all the process's sessions on it (one
// KEK's Logout would log out the others). So both are counted here.
type module struct {
	path     string
	ctx      *pkcs11.Ctx
	refs     int
	ownsInit bool         // we called C_Initialize, so we call C_Finalize
	logins   map[uint]int // slot → KEKs relying on the user login
}

// modules holds the loaded libraries by resolved path. Its mutex also
// guards every module's refs and logins: opening and closing are rare.
var modules = struct {
	sync.Mutex
	byPath map[string]*module
}{byPath: map[string]*module{}}

// acquireModule loads and initialises a library, or shares the one loaded.
func acquireModule(path string) (*module, error) {
	if path == "" {
		return nil, errors.New("keys: pkcs11: no module given (the library path, e.g. /usr/lib/softhsm/libsofthsm2.so)")
	}
	key, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("keys: pkcs11: module: %w", err)
	}
	modules.Lock()
	defer modules.Unlock()
	if m := modules.byPath[key]; m != nil {
		m.refs++
		return m, nil
	}
	ctx := pkcs11.New(key)
	if ctx == nil {
		return nil, fmt.Errorf("keys: pkcs11: cannot load module %s", path)
	}
	m := &module{path: key, ctx: ctx, refs: 1, ownsInit: true, logins: map[uint]int{}}
	if err := ctx.Initialize(); err != nil {
		// Something else in this process initialised the library; it
		// finalises it, not us.
		if !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			ctx.Destroy()
			return nil, fmt.Errorf("keys: pkcs11: initialise %s: %w", path, err)
		}
		m.ownsInit = false
	}
	modules.byPath[key] = m
	return m, nil
}

// release drops one reference; the last finalises and unloads the library.
func (m *module) release() error {
	modules.Lock()
	defer modules.Unlock()
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(modules.byPath, m.path)
	var err error
	if m.ownsInit {
		if ferr := m.ctx.Finalize(); ferr != nil {
			err = fmt.Errorf("keys: pkcs11: finalise %s: %w", m.path, ferr)
		}
	}
	m.ctx.Destroy()
	return err
}

// login logs the user in on slot through sh unless another KEK has.
func (m *module) login(slot uint, sh pkcs11.SessionHandle, pin string) error {
	modules.Lock()
	defer modules.Unlock()
	if m.logins[slot] == 0 {
		err := m.ctx.Login(sh, pkcs11.CKU_USER, pin)
		if err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)) {
			return err // a CKR_ code: names the failure, never the PIN
		}
	}
	m.logins[slot]++
	return nil
}

// logout logs out of slot through sh when no other KEK relies on it.
func (m *module) logout(slot uint, sh pkcs11.SessionHandle) error {
	modules.Lock()
	defer modules.Unlock()
	m.logins[slot]--
	if m.logins[slot] > 0 {
		return nil
	}
	delete(m.logins, slot)
	err := m.ctx.Logout(sh)
	if err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_NOT_LOGGED_IN)) {
		return fmt.Errorf("keys: pkcs11: logout: %w", err)
	}
	return nil
}
