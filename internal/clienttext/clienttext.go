// Package clienttext is the one rule every text from outside passes where
// it enters (a client's landing path, utm values, Host and user ID, and the
// texts of a geo database, a file from elsewhere): it becomes header values
// upstream, log fields, export cells and dashboard rows, so it must be
// valid UTF-8 without control characters and bounded.
package clienttext

import (
	"unicode"
	"unicode/utf8"
)

// Clean is s as a text a client controls is kept: at most limit bytes
// of valid UTF-8 without control characters. Each byte of an invalid
// sequence or of a control character is written as %XX, as a URL would
// carry it, so that a probe for /%FF%00%0D%0A stays readable for what it
// was. The text is cut on a character boundary, never inside an escape. It
// is s itself (or its start) when s needs no escape, as nearly every text.
func Clean(s string, limit int) string {
	for i := 0; i < len(s); {
		size, plain := clientChar(s[i:])
		if !plain {
			return escapedText(s, i, limit)
		}
		if i+size > limit {
			return s[:i]
		}
		i += size
	}
	return s
}

// clientChar is the size of the character s starts with, and whether it
// is kept as it is (false: its bytes are escaped).
func clientChar(s string) (size int, plain bool) {
	if c := s[0]; c < utf8.RuneSelf {
		return 1, ' ' <= c && c != 0x7f
	}
	r, size := utf8.DecodeRuneInString(s)
	return size, (r != utf8.RuneError || size > 1) && !controlChar(r)
}

// controlChar reports whether r is a control character beyond ASCII's: C1
// controls, the line and paragraph separators (line breaks to many tools)
// and the bidirectional controls (they reorder what a reader sees, making
// one path look like another).
func controlChar(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r)
}

// escapedText is Clean of s from its first character to escape, at i.
func escapedText(s string, i, limit int) string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, min(limit, 3*len(s)))
	b = append(b, s[:i]...)
	for i < len(s) {
		size, plain := clientChar(s[i:])
		if plain {
			if len(b)+size > limit {
				break
			}
			b = append(b, s[i:i+size]...)
		} else {
			if len(b)+3*size > limit {
				break
			}
			for _, c := range []byte(s[i : i+size]) {
				b = append(b, '%', hex[c>>4], hex[c&0xf])
			}
		}
		i += size
	}
	return string(b)
}
