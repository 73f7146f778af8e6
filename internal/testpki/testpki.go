// Package testpki makes a throw-away certificate authority for tests: a
// CA, a server certificate for 127.0.0.1 and localhost, and a client
// certificate, written as PEM files into a test's temporary directory.
// Keys are ECDSA P-256; nothing here is for production.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// PKI is the files of one test CA. ServerName is what the server
// certificate is valid for besides 127.0.0.1.
type PKI struct {
	CA                    string // CA certificate (PEM)
	ServerCert, ServerKey string
	ClientCert, ClientKey string
	// OtherCA is a second CA's certificate, which signed nothing here:
	// a client that trusts only it must fail to verify the server.
	OtherCA    string
	ServerName string
}

// New writes a CA, a server and a client certificate into t.TempDir().
func New(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	p := &PKI{ServerName: "localhost"}
	caKey, caCert := makeCA(t, "cardcenter test CA", now)
	p.CA = writePEM(t, dir, "ca.pem", "CERTIFICATE", caCert.Raw)
	_, otherCert := makeCA(t, "unrelated CA", now)
	p.OtherCA = writePEM(t, dir, "other-ca.pem", "CERTIFICATE", otherCert.Raw)

	p.ServerCert, p.ServerKey = leaf(t, dir, "server", caCert, caKey, now, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "cardcenter host"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	p.ClientCert, p.ClientKey = leaf(t, dir, "client", caCert, caKey, now, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "T0000101"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	return p
}

var serial atomic.Int64 // parallel tests make certificates at once

func nextSerial() *big.Int { return big.NewInt(serial.Add(1)) }

func makeCA(t testing.TB, name string, now time.Time) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func leaf(t testing.TB, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, now time.Time, tmpl *x509.Certificate) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = nextSerial()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "PRIVATE KEY", keyDER)
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
