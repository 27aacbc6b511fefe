package localk8s

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// etcdPKI is the throwaway certificate set that locks etcd to the API server: etcd serves its
// client and peer ports over TLS and admits only clients presenting a certificate of this CA.
// Without it, any local user could read and write the cluster's data past the API server's
// authentication and RBAC (etcd on 127.0.0.1 serves every local process).
type etcdPKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

// etcdPKIDir is where writeEtcdPKI puts the files, under a cluster's directory.
const etcdPKIDir = "etcd-pki"

// writeEtcdPKI creates a CA, a serving certificate for 127.0.0.1 and a client certificate in
// dir/etcd-pki, readable by the owner only.
func writeEtcdPKI(dir string) (*etcdPKI, error) {
	pkiDir := filepath.Join(dir, etcdPKIDir)
	if err := os.RemoveAll(pkiDir); err != nil {
		return nil, fmt.Errorf("clean etcd certificates: %w", err)
	}
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", pkiDir, err)
	}
	p := &etcdPKI{
		CA:         filepath.Join(pkiDir, "ca.crt"),
		ServerCert: filepath.Join(pkiDir, "server.crt"), ServerKey: filepath.Join(pkiDir, "server.key"),
		ClientCert: filepath.Join(pkiDir, "client.crt"), ClientKey: filepath.Join(pkiDir, "client.key"),
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate etcd CA key: %w", err)
	}
	caTmpl := certTemplate("trafficctl-etcd-ca")
	caTmpl.IsCA, caTmpl.BasicConstraintsValid = true, true
	caTmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("sign etcd CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("parse etcd CA: %w", err)
	}
	if err := writePEM(p.CA, "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	// The serving certificate doubles as the peer certificate of the single member.
	server := certTemplate("etcd")
	server.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	server.DNSNames = []string{"localhost"}
	server.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	if err := signLeaf(server, caCert, caKey, p.ServerCert, p.ServerKey); err != nil {
		return nil, err
	}
	client := certTemplate("kube-apiserver-etcd-client")
	client.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if err := signLeaf(client, caCert, caKey, p.ClientCert, p.ClientKey); err != nil {
		return nil, err
	}
	return p, nil
}

// etcdArgs are etcd's TLS flags: client and peer certificates required on both ports.
func (p *etcdPKI) etcdArgs() []string {
	return []string{
		"--cert-file", p.ServerCert, "--key-file", p.ServerKey,
		"--trusted-ca-file", p.CA, "--client-cert-auth",
		"--peer-cert-file", p.ServerCert, "--peer-key-file", p.ServerKey,
		"--peer-trusted-ca-file", p.CA, "--peer-client-cert-auth",
	}
}

// apiServerArgs are kube-apiserver's flags for its etcd client certificate.
func (p *etcdPKI) apiServerArgs() []string {
	return []string{"--etcd-cafile=" + p.CA, "--etcd-certfile=" + p.ClientCert, "--etcd-keyfile=" + p.ClientKey}
}

// clientTLS is the client side of the API server's etcd connection, for health checks.
func (p *etcdPKI) clientTLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("load etcd client certificate: %w", err)
	}
	ca, err := os.ReadFile(p.CA)
	if err != nil {
		return nil, fmt.Errorf("read etcd CA: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

func certTemplate(cn string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"trafficctl local cluster"}},
		NotBefore:    time.Now().Add(-time.Hour),
		// Sandboxes live for days at most; a year leaves room for a forgotten one.
		NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
}

func signLeaf(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey, certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key for %s: %w", tmpl.Subject.CommonName, err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("sign %s: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key of %s: %w", tmpl.Subject.CommonName, err)
	}
	if err := writePEM(certPath, "CERTIFICATE", der); err != nil {
		return err
	}
	return writePEM(keyPath, "EC PRIVATE KEY", keyDER)
}

func writePEM(path, typ string, der []byte) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
