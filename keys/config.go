package keys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// The KEK sources a Config names.
const (
	SourceFile   = "file"
	SourceEnv    = "env"
	SourcePKCS11 = "pkcs11"
)

// Config says where the KEK comes from. The zero Config is the key file
// <data dir>/master.key, made on first start.
type Config struct {
	// Source is "file" (the default), "env" or "pkcs11".
	Source string `yaml:"source"`
	// File is the key file of source "file" (default <data dir>/master.key).
	// During a rotation its successor is File + ".next".
	File string `yaml:"file"`
	// Env is the variable of source "env" (default CARDCENTER_KEK). During
	// a rotation the older key is in Env + "_OLD".
	Env string `yaml:"env"`
	// PKCS11 configures source "pkcs11".
	PKCS11 PKCS11Config `yaml:"pkcs11"`
}

// PKCS11Config names a token and the AES key on it.
type PKCS11Config struct {
	// Module is the path of the PKCS#11 library
	// (/usr/lib/softhsm/libsofthsm2.so for SoftHSM2).
	Module string `yaml:"module"`
	// TokenLabel finds the slot: slot numbers change, labels do not.
	TokenLabel string `yaml:"token_label"`
	// The user PIN comes from exactly one of: PIN (for programs that hold
	// it already; never put it in a config file), PINFile (a file of mode
	// 0600 holding the PIN), PINEnv (a variable's name). With none set it
	// is read from CARDCENTER_PKCS11_PIN.
	PIN     string `yaml:"-"`
	PINFile string `yaml:"pin_file"`
	PINEnv  string `yaml:"pin_env"`
	// KeyLabel is the CKA_LABEL of the AES-256 key; the KEK's id is
	// "pkcs11:" + KeyLabel, so the label is printable ASCII without
	// spaces, at most MaxIDLen-7 bytes.
	KeyLabel string `yaml:"key_label"`
	// OldKeyLabel, during a rotation, is the label of the key being
	// retired; OpenRing puts it in the ring beside KeyLabel.
	OldKeyLabel string `yaml:"old_key_label"`
	// CreateKey generates the key on the token when no key has KeyLabel.
	CreateKey bool `yaml:"create_key"`
}

// Open opens the current KEK of a configuration. During a rotation that
// is the new key: open the store with OpenRing, which also holds the old.
func Open(cfg Config, dataDir string) (KEK, error) {
	switch cfg.Source {
	case "", SourceFile:
		path := cfg.keyFile(dataDir)
		if k, err := LoadFile(NextKeyFile(path)); !errors.Is(err, fs.ErrNotExist) {
			return k, err // a rotation is in progress (or its file is bad)
		}
		k, _, err := LoadOrCreateFile(path)
		return k, err
	case SourceEnv:
		return FromEnv(cfg.envName())
	case SourcePKCS11:
		return OpenPKCS11(cfg.PKCS11)
	default:
		return nil, fmt.Errorf("keys: KEK source %q: want %s, %s or %s", cfg.Source, SourceFile, SourceEnv, SourcePKCS11)
	}
}

// OpenRing opens the KEKs a store needs: the current one and, while a
// rotation is in progress, the one being retired (file: File and
// File.next; env: Env_OLD; pkcs11: OldKeyLabel).
func OpenRing(cfg Config, dataDir string) (*Ring, error) {
	var current, old KEK
	var err error
	switch cfg.Source {
	case "", SourceFile:
		return openFileRing(cfg.keyFile(dataDir), false)
	case SourceEnv:
		if current, err = FromEnv(cfg.envName()); err != nil {
			return nil, err
		}
		if _, set := os.LookupEnv(cfg.envName() + "_OLD"); set {
			old, err = FromEnv(cfg.envName() + "_OLD")
		}
	case SourcePKCS11:
		if current, err = OpenPKCS11(cfg.PKCS11); err != nil {
			return nil, err
		}
		if cfg.PKCS11.OldKeyLabel != "" {
			oc := cfg.PKCS11
			oc.KeyLabel, oc.OldKeyLabel, oc.CreateKey = cfg.PKCS11.OldKeyLabel, "", false
			old, err = OpenPKCS11(oc)
		}
	default:
		_, err = Open(cfg, dataDir) // the one message for a bad source
		return nil, err
	}
	if err != nil {
		current.Close()
		return nil, err
	}
	if old == nil {
		return NewRing(current)
	}
	r, err := NewRing(current, old)
	if err != nil {
		current.Close()
		old.Close()
	}
	return r, err
}

func (c Config) keyFile(dataDir string) string {
	if c.File != "" {
		return c.File
	}
	return KeyFilePath(dataDir)
}

func (c Config) envName() string {
	if c.Env != "" {
		return c.Env
	}
	return DefaultEnv
}
