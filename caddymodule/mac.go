package caddymodule

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"sync"
)

// Keyed hashing: the MACs that sign cookies and key the request hashes.

// macPool recycles HMAC states of one key, with a scratch buffer for the
// message and the sum: a fresh hmac.New per cookie costs more than the MAC.
type macPool struct{ pool sync.Pool }

type macState struct {
	hash.Hash
	scratch, want, given []byte
}

func newMacPool(key []byte) *macPool {
	k := append([]byte(nil), key...)
	return &macPool{pool: sync.Pool{New: func() any {
		return &macState{Hash: hmac.New(sha256.New, k), scratch: make([]byte, 0, 128)}
	}}}
}

// mac appends the signature of name "=" text under p's key to dst. text
// may be a part of dst.
func mac[T string | []byte](p *macPool, dst []byte, name string, text T) []byte {
	m := p.pool.Get().(*macState)
	dst = appendMAC(m, dst, name, text)
	p.pool.Put(m)
	return dst
}

// matches reports whether given is the signature of name "=" text,
// comparing in constant time. The pooled buffers keep it allocation-free.
func (p *macPool) matches(name, text, given string) bool {
	m := p.pool.Get().(*macState)
	m.want = appendMAC(m, m.want[:0], name, text)
	m.given = append(m.given[:0], given...)
	ok := subtle.ConstantTimeCompare(m.want, m.given) == 1
	p.pool.Put(m)
	return ok
}

// digest is the first 16 bytes of the MAC of the parts, each followed by
// a NUL.
func (p *macPool) digest(parts ...string) (d [16]byte) {
	m := p.pool.Get().(*macState)
	msg := m.scratch[:0]
	for _, part := range parts {
		msg = append(append(msg, part...), 0)
	}
	copy(d[:], m.sum(msg))
	p.pool.Put(m)
	return d
}

func appendMAC[T string | []byte](m *macState, dst []byte, name string, text T) []byte {
	sum := m.sum(append(append(append(m.scratch[:0], name...), '='), text...))
	return base64.RawURLEncoding.AppendEncode(dst, sum)
}

// sum is the MAC of msg, a message built in m.scratch; the sum takes its
// place there and is valid until m is used again.
func (m *macState) sum(msg []byte) []byte {
	m.Reset()
	m.Write(msg)
	sum := m.Sum(msg[:0])
	m.scratch = sum[:0]
	return sum
}

// keyedHash is HMAC-SHA256 over NUL-separated parts.
func keyedHash(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}
