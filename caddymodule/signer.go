package caddymodule

import "github.com/google/uuid"

// signer signs and verifies server-cookie values "<uuid>.<signature>", where
// the signature is base64url(HMAC-SHA256(key, name "=" uuid)). The first key
// signs; every key verifies, so keys rotate without logging anyone out.
type signer struct {
	keys []*macPool
}

func newSigner(keys [][]byte) *signer {
	s := new(signer)
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
