package caddymodule

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"sync"

	"github.com/google/uuid"
)

// signer signs and verifies server-cookie values "<uuid>.<signature>", where
// the signature is base64url(HMAC-SHA256(key, name "=" uuid)). The first key
// signs; every key verifies, so keys rotate without logging anyone out.
type signer struct {
	keys []*macPool
	// bootstrapKey and fingerprintKey key the request hashes; derived
	// from the signing key so that they mean nothing outside this
	// deployment.
	bootstrapKey, fingerprintKey []byte
}

// macPool recycles HMAC states of one key: a fresh hmac.New per cookie costs
// more than the MAC itself.
type macPool struct{ pool sync.Pool }

func newMacPool(key []byte) *macPool {
	k := append([]byte(nil), key...)
	return &macPool{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, k) }}}
}

func newSigner(keys [][]byte) *signer {
	s := &signer{
		bootstrapKey:   keyedHash(keys[0], "caddy-session bootstrap"),
		fingerprintKey: keyedHash(keys[0], "caddy-session fingerprint"),
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

// mac appends the signature of name and text under key to dst.
func (p *macPool) mac(dst []byte, name string, text []byte) []byte {
	m := p.pool.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(name))
	m.Write([]byte{'='})
	m.Write(text)
	var sum [sha256.Size]byte
	out := m.Sum(sum[:0])
	p.pool.Put(m)
	return base64.RawURLEncoding.AppendEncode(dst, out)
}

// sign returns the server-cookie value for id under the cookie's name.
func (s *signer) sign(name string, id uuid.UUID) string {
	buf := make([]byte, uuidLen, signedLen)
	encodeUUID(buf, id)
	buf = append(buf, '.')
	return string(s.keys[0].mac(buf, name, buf[:uuidLen]))
}

// verify returns the ID in a signed value when any key's signature matches,
// compared in constant time.
func (s *signer) verify(name, value string) (uuid.UUID, bool) {
	if len(value) != signedLen || value[uuidLen] != '.' {
		return uuid.Nil, false
	}
	text := []byte(value[:uuidLen])
	given := []byte(value[uuidLen+1:])
	var buf [sigLen]byte
	ok := false
	for _, k := range s.keys {
		ok = hmac.Equal(k.mac(buf[:0], name, text), given) || ok
	}
	if !ok {
		return uuid.Nil, false
	}
	id, err := uuid.ParseBytes(text)
	return id, err == nil
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
