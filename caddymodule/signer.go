package caddymodule

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"sync"

	"github.com/google/uuid"
)

// signer signs and verifies server-cookie values "<uuid>.<signature>", where
// the signature is base64url(HMAC-SHA256(key, name "=" uuid)). The first key
// signs; every key verifies, so keys rotate without logging anyone out.
type signer struct {
	keys []macer
	// bootstrap and fingerprint key the request hashes; derived from
	// the signing key so that they mean nothing outside this deployment.
	bootstrap, fingerprint *macPool
}

// macer computes a key's MAC of name "=" text: appended to dst, or
// compared in constant time with a given one.
type macer interface {
	mac(dst []byte, name, text string) []byte
	matches(name, text, given string) bool
}

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

func newSigner(keys [][]byte) *signer {
	s := &signer{
		bootstrap:   newMacPool(keyedHash(keys[0], "caddy-session bootstrap")),
		fingerprint: newMacPool(keyedHash(keys[0], "caddy-session fingerprint")),
	}
	for _, k := range keys {
		s.keys = append(s.keys, newMacPool(k))
	}
	return s
}

const (
	uuidLen   = 36
	sigLen    = 43 // base64url without padding of 32 bytes
	signedLen = uuidLen + 1 + sigLen
)

// mac appends the signature of name "=" text under the pool's key to dst.
func (p *macPool) mac(dst []byte, name, text string) []byte {
	m := p.pool.Get().(*macState)
	dst = m.appendMAC(dst, name, text)
	p.pool.Put(m)
	return dst
}

// matches reports whether given is the signature of name "=" text,
// comparing in constant time. The pooled buffers keep it allocation-free.
func (p *macPool) matches(name, text, given string) bool {
	m := p.pool.Get().(*macState)
	m.want = m.appendMAC(m.want[:0], name, text)
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

func (m *macState) appendMAC(dst []byte, name, text string) []byte {
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

// appendSigned appends the server-cookie value of an ID, given in its
// canonical text, under the cookie's name to dst.
func (s *signer) appendSigned(dst []byte, name, text string) []byte {
	dst = append(append(dst, text...), '.')
	return s.keys[0].mac(dst, name, text)
}

// verify returns the ID in a signed value when any key's signature matches,
// compared in constant time (every key is tried, whatever matched).
// current reports a match with the first key, whose value can be sent back
// as it is.
func (s *signer) verify(name, value string) (id uuid.UUID, current, ok bool) {
	if len(value) != signedLen || value[uuidLen] != '.' {
		return uuid.Nil, false, false
	}
	text, given := value[:uuidLen], value[uuidLen+1:]
	for i, k := range s.keys {
		match := k.matches(name, text, given)
		current = current || (match && i == 0)
		ok = ok || match
	}
	if !ok {
		return uuid.Nil, false, false
	}
	id, err := uuid.Parse(text)
	return id, current, err == nil
}

// encodeUUID writes the canonical lowercase form of id into dst[:36].
func encodeUUID(dst []byte, id uuid.UUID) {
	const hexDigits = "0123456789abcdef"
	j := 0
	for i, b := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = hexDigits[b>>4], hexDigits[b&0x0f]
		j += 2
	}
}
