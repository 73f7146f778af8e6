//go:build cgo

package keys

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"
)

const (
	// pkcs11IDPrefix starts the id of a token KEK; the key label follows,
	// so a rotation on a token is a new label.
	pkcs11IDPrefix = "pkcs11:"
	// maxSessions bounds the sessions one token KEK keeps open. A PKCS#11
	// session runs one operation at a time, so this is also how many
	// seals and opens run at once; HSMs limit sessions per application.
	maxSessions = 4
)

// p11KEK is a KEK whose AES key is an object on a PKCS#11 token: the key
// never leaves it, every seal and open runs CKM_AES_GCM on the token.
type p11KEK struct {
	id     string
	mod    *module
	slot   uint
	anchor pkcs11.SessionHandle // open for the KEK's life: it holds the login
	key    pkcs11.ObjectHandle

	// The session pool: sem has one token per session that may be in use
	// (maxSessions); idle holds the open sessions nobody is using.
	sem  chan struct{}
	idle chan pkcs11.SessionHandle
	done chan struct{} // closed by Close

	closeOnce sync.Once
	closeErr  error
}

// OpenPKCS11 opens the AES-256 key labelled cfg.KeyLabel on the token
// labelled cfg.TokenLabel, logging in with the user PIN; with
// cfg.CreateKey it generates the key on the token when there is none
// (sensitive, not extractable). Close logs out and releases the library.
func OpenPKCS11(cfg PKCS11Config) (KEK, error) {
	id := pkcs11IDPrefix + cfg.KeyLabel
	if cfg.KeyLabel == "" || cfg.TokenLabel == "" {
		return nil, errors.New("keys: pkcs11: token_label and key_label are both required")
	}
	if err := checkID(id); err != nil {
		return nil, fmt.Errorf("keys: pkcs11: key_label: %v", err)
	}
	pin, err := cfg.userPIN()
	if err != nil {
		return nil, err
	}
	mod, err := acquireModule(cfg.Module)
	if err != nil {
		return nil, err
	}
	k := &p11KEK{id: id, mod: mod, sem: make(chan struct{}, maxSessions),
		idle: make(chan pkcs11.SessionHandle, maxSessions), done: make(chan struct{})}
	if err := k.start(cfg, pin); err != nil {
		mod.release()
		return nil, fmt.Errorf("keys: pkcs11: token %q key %q: %w", cfg.TokenLabel, cfg.KeyLabel, err)
	}
	return k, nil
}

// start finds the slot, opens the anchor session, logs in and finds (or
// makes) the key. On failure it undoes what it did but the module release.
func (k *p11KEK) start(cfg PKCS11Config, pin string) (err error) {
	ctx := k.mod.ctx
	if k.slot, err = findSlot(ctx, cfg.TokenLabel); err != nil {
		return err
	}
	flags := uint(pkcs11.CKF_SERIAL_SESSION)
	if cfg.CreateKey {
		flags |= pkcs11.CKF_RW_SESSION
	}
	if k.anchor, err = ctx.OpenSession(k.slot, flags); err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	if err = k.mod.login(k.slot, k.anchor, pin); err != nil {
		ctx.CloseSession(k.anchor)
		return fmt.Errorf("login: %w", err)
	}
	if k.key, err = findOrCreateKey(ctx, k.anchor, cfg.KeyLabel, cfg.CreateKey); err != nil {
		k.mod.logout(k.slot, k.anchor)
		ctx.CloseSession(k.anchor)
		return err
	}
	return nil
}

// findSlot finds the one slot whose token has the label.
func findSlot(ctx *pkcs11.Ctx, label string) (uint, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("list slots: %w", err)
	}
	var found []uint
	var labels []string
	for _, s := range slots {
		info, err := ctx.GetTokenInfo(s)
		if err != nil {
			continue // a slot whose token went away meanwhile
		}
		l := strings.TrimRight(info.Label, " \x00")
		labels = append(labels, fmt.Sprintf("%q", l))
		if l == label {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return 0, fmt.Errorf("no token with that label (tokens present: %s)", strings.Join(labels, ", "))
	default:
		return 0, fmt.Errorf("%d tokens have that label: labels must be unique", len(found))
	}
}

// findOrCreateKey finds the AES key by label and checks it is a sensitive
// AES-256 key usable for encryption; with create it generates one when
// none has the label.
func findOrCreateKey(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle, label string, create bool) (pkcs11.ObjectHandle, error) {
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	}
	if err := ctx.FindObjectsInit(sh, tmpl); err != nil {
		return 0, fmt.Errorf("find key: %w", err)
	}
	objs, _, err := ctx.FindObjects(sh, 2)
	if ferr := ctx.FindObjectsFinal(sh); err == nil {
		err = ferr
	}
	if err != nil {
		return 0, fmt.Errorf("find key: %w", err)
	}
	switch {
	case len(objs) > 1:
		return 0, errors.New("several AES keys have that label: labels must be unique")
	case len(objs) == 1:
		return objs[0], checkKey(ctx, sh, objs[0])
	case !create:
		return 0, errors.New("no AES key has that label (set create_key to generate one)")
	}
	key, err := ctx.GenerateKey(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)},
		[]*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, KeyBytes),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),   // survives the session
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true), // usable only after login
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
			pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false), // never leaves the token
			pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true),
			pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true),
			// Nothing else: it wraps no keys, signs nothing, derives nothing.
			pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
			pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
			pkcs11.NewAttribute(pkcs11.CKA_SIGN, false),
			pkcs11.NewAttribute(pkcs11.CKA_VERIFY, false),
			pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
		})
	if err != nil {
		return 0, fmt.Errorf("generate key: %w", err)
	}
	return key, nil
}

// checkKey refuses a key of the wrong size, one whose value can be read
// in clear, and one that may not encrypt and decrypt.
func checkKey(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle, key pkcs11.ObjectHandle) error {
	attrs, err := ctx.GetAttributeValue(sh, key, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, nil),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, nil),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, nil),
	})
	if err != nil {
		return fmt.Errorf("read key attributes: %w", err)
	}
	for _, a := range attrs {
		switch a.Type {
		case pkcs11.CKA_VALUE_LEN:
			if n := attrUint(a.Value); n != KeyBytes {
				return fmt.Errorf("key is %d bytes, want %d (AES-256)", n, KeyBytes)
			}
		case pkcs11.CKA_SENSITIVE:
			if !attrBool(a.Value) {
				return errors.New("key is not CKA_SENSITIVE: its value could be read in clear")
			}
		case pkcs11.CKA_ENCRYPT, pkcs11.CKA_DECRYPT:
			if !attrBool(a.Value) {
				return errors.New("key may not encrypt and decrypt (CKA_ENCRYPT, CKA_DECRYPT)")
			}
		}
	}
	return nil
}

// attrUint reads a CK_ULONG attribute: native byte order, 4 or 8 bytes.
func attrUint(v []byte) uint64 {
	switch len(v) {
	case 8:
		return binary.NativeEndian.Uint64(v)
	case 4:
		return uint64(binary.NativeEndian.Uint32(v))
	}
	return 0
}

func attrBool(v []byte) bool { return len(v) == 1 && v[0] != 0 }

func (k *p11KEK) ID() string { return k.id }

func (k *p11KEK) Seal(plaintext, aad []byte) ([]byte, error) {
	if err := checkSealArgs(k.id, plaintext, aad); err != nil {
		return nil, err
	}
	out := newHeader(k.id, len(plaintext))
	header := out[:len(out):len(out)]
	nonce := make([]byte, NonceBytes)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keys: seal under %s: random nonce: %w", k.id, err)
	}
	ct, err := k.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) ([]byte, error) {
		params := pkcs11.NewGCMParams(nonce, gcmAAD(header, aad), 8*TagBytes)
		defer params.Free() // after the whole operation, as the library asks
		if err := ctx.EncryptInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_GCM, params)}, k.key); err != nil {
			return nil, err
		}
		return ctx.Encrypt(sh, plaintext)
	})
	if err != nil {
		return nil, fmt.Errorf("keys: seal under %s: token: %w", k.id, err)
	}
	if len(ct) != len(plaintext)+TagBytes {
		return nil, fmt.Errorf("keys: seal under %s: token returned %d bytes for %d (want plaintext + %d-byte tag)", k.id, len(ct), len(plaintext), TagBytes)
	}
	out = append(out, nonce...)
	return append(out, ct...), nil
}

func (k *p11KEK) Open(sealed, aad []byte) ([]byte, error) {
	b, err := parseForOpen(k.id, sealed, aad)
	if err != nil {
		return nil, err
	}
	pt, err := k.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) ([]byte, error) {
		params := pkcs11.NewGCMParams(b.nonce, gcmAAD(b.header, aad), 8*TagBytes)
		defer params.Free()
		if err := ctx.DecryptInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_GCM, params)}, k.key); err != nil {
			return nil, err
		}
		pt, err := ctx.Decrypt(sh, b.ct)
		if err != nil {
			return nil, decryptError{err}
		}
		return pt, nil
	})
	var de decryptError
	switch {
	case errors.As(err, &de) && isTagFailure(de.err):
		return nil, fmt.Errorf("%w (token: %w)", authError(sealed, b.id), de.err)
	case err != nil:
		return nil, fmt.Errorf("keys: open with %s: token: %w", k.id, err)
	}
	return pt, nil
}

// decryptError marks a failure of C_Decrypt itself, after C_DecryptInit
// accepted the key and parameters: the stage where a bad tag shows.
type decryptError struct{ err error }

func (e decryptError) Error() string { return e.err.Error() }
func (e decryptError) Unwrap() error { return e.err }

// isTagFailure says whether C_Decrypt's error is how a token reports a
// GCM tag that does not verify. The standard code is
// CKR_ENCRYPTED_DATA_INVALID; SoftHSM2 2.6.1 (measured) answers
// CKR_GENERAL_ERROR. A real fault on that code is reported as an
// authentication failure too, with the token's code in the message.
func isTagFailure(err error) bool {
	for _, rv := range []uint{pkcs11.CKR_ENCRYPTED_DATA_INVALID, pkcs11.CKR_ENCRYPTED_DATA_LEN_RANGE, pkcs11.CKR_GENERAL_ERROR} {
		if errors.Is(err, pkcs11.Error(rv)) {
			return true
		}
	}
	return false
}

// do runs one operation on a session of the pool. A session whose
// operation failed is closed rather than reused: after an error its state
// (an operation still active?) is the library's business, a fresh session
// is certain.
func (k *p11KEK) do(op func(*pkcs11.Ctx, pkcs11.SessionHandle) ([]byte, error)) ([]byte, error) {
	select {
	case <-k.done:
		return nil, ErrClosed
	case k.sem <- struct{}{}:
	}
	defer func() { <-k.sem }()
	select { // both cases above may be ready; closed wins
	case <-k.done:
		return nil, ErrClosed
	default:
	}
	var sh pkcs11.SessionHandle
	select {
	case sh = <-k.idle:
	default:
		var err error
		if sh, err = k.mod.ctx.OpenSession(k.slot, pkcs11.CKF_SERIAL_SESSION); err != nil {
			return nil, fmt.Errorf("open session: %w", err)
		}
	}
	out, err := op(k.mod.ctx, sh)
	if err != nil {
		k.mod.ctx.CloseSession(sh)
		return nil, err
	}
	k.idle <- sh // never blocks: a session exists only while it is idle or one sem token uses it
	return out, nil
}

// Close waits for the operations in flight, closes the sessions, logs out
// (unless another KEK on the token still relies on the login) and
// releases the library. It is safe to call more than once.
func (k *p11KEK) Close() error {
	k.closeOnce.Do(func() {
		close(k.done)
		for range cap(k.sem) { // every token: no operation is in flight
			k.sem <- struct{}{}
		}
		ctx := k.mod.ctx
		for len(k.idle) > 0 {
			ctx.CloseSession(<-k.idle)
		}
		var errs []error
		errs = append(errs, k.mod.logout(k.slot, k.anchor))
		if err := ctx.CloseSession(k.anchor); err != nil {
			errs = append(errs, fmt.Errorf("keys: pkcs11: close session: %w", err))
		}
		errs = append(errs, k.mod.release())
		k.closeErr = errors.Join(errs...)
	})
	return k.closeErr
}
