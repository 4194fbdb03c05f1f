package caddymodule

import (
	"strconv"

	"github.com/google/uuid"
)

// signer signs and verifies server-cookie values "<text>.<signature>", where
// text is a uuid, or for the event cookie "<uuid>.<renewed>" (when the
// client and session cookies were last sent, in Unix seconds), and the
// signature is base64url(HMAC-SHA256(key, name "=" text)). The first key
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
	uuidLen      = 36
	sigLen       = 43 // base64url without padding of 32 bytes
	signedLen    = uuidLen + 1 + sigLen
	maxSignedLen = signedLen + 1 + 19 // with a renewal time of up to 19 digits
)

// appendSigned appends the server-cookie value of an ID, given in its
// canonical text, under the cookie's name to dst.
func (s *signer) appendSigned(dst []byte, name, text string) []byte {
	return mac(s.keys[0], append(append(dst, text...), '.'), name, text)
}

// appendSignedRenewed appends the event cookie's value: the ID's text and
// when the client and session cookies were last sent, signed together.
func (s *signer) appendSignedRenewed(dst []byte, name, text string, renewed int64) []byte {
	start := len(dst)
	dst = strconv.AppendInt(append(append(dst, text...), '.'), renewed, 10)
	signed := dst[start:]
	return mac(s.keys[0], append(dst, '.'), name, signed)
}

// verify returns the ID (and renewal time, 0 when the value has none) in a
// signed value when any key's signature matches, compared in constant time
// (every key is tried, whatever matched). current reports a match with the
// first key, whose value can be sent back as it is.
func (s *signer) verify(name, value string) (v verifiedValue, ok bool) {
	if len(value) < signedLen || len(value) > maxSignedLen || value[uuidLen] != '.' || value[len(value)-sigLen-1] != '.' {
		return verifiedValue{}, false
	}
	text, given := value[:len(value)-sigLen-1], value[len(value)-sigLen:]
	for i, k := range s.keys {
		match := k.matches(name, text, given)
		v.current = v.current || (match && i == 0)
		ok = ok || match
	}
	if !ok {
		return verifiedValue{}, false
	}
	id, err := uuid.Parse(text[:uuidLen])
	if err != nil {
		return verifiedValue{}, false
	}
	v.id = id
	if len(text) > uuidLen {
		if v.renewed, err = strconv.ParseInt(text[uuidLen+1:], 10, 64); err != nil || v.renewed <= 0 {
			return verifiedValue{}, false
		}
	}
	return v, true
}
