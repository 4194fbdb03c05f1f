package sessionstore

import (
	"net/netip"
	"strconv"
	"strings"
)

// originHost is the host[:port] of a URL (as url.Parse leaves it) in the
// form an origin keeps: a host name (validHostName), lower-cased, or an IP
// address (IPv6 in brackets, without a zone, in its canonical form), then
// an optional port of 1 to 65535 (without leading zeros). A host name's
// trailing dot (the DNS root) is dropped.
// ok is false for anything else: url.Parse accepts `"`, `<`, `>` and
// non-ASCII bytes in a host, none of which a browser's Referer carries.
func originHost(hostport string) (host string, ok bool) {
	host, port := hostport, ""
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[i:], "]") {
		host, port = hostport[:i], hostport[i+1:]
		n, ok := portNumber(port)
		if !ok {
			return "", false
		}
		port = ":" + strconv.Itoa(n) // :080 is :80
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		addr, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", false
		}
		return "[" + addr.String() + "]" + port, true
	}
	host = strings.TrimSuffix(host, ".") // the root's dot: the same host
	if !validHostName(host) {
		return "", false
	}
	return strings.ToLower(host) + port, true
}

// validHostName reports whether name is dot-separated labels of 1 to 63
// letters, digits, '-' or '_', neither starting nor ending with '-', 253
// bytes at most; a name whose last label
// is a number must be an IPv4 address (no top-level domain is numeric).
func validHostName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	last := ""
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || strings.ContainsFunc(label, notLabelChar) ||
			label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		last = label
	}
	if digits(last) {
		addr, err := netip.ParseAddr(name)
		return err == nil && addr.Is4()
	}
	return true
}

func notLabelChar(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_')
}

func digits(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
}

// portNumber is p as a port number, 1 to 65535; ok is false otherwise.
func portNumber(p string) (n int, ok bool) {
	n, err := strconv.Atoi(p)
	return n, digits(p) && len(p) <= 5 && err == nil && n >= 1 && n <= 65535
}
