package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// The bench's two HTTP clients: raw keep-alive connections for the loads it
// times, net/http for seeding.

// keepAlive is one HTTP/1.1 connection that sends a request and reads its
// answer, nothing in between.
type keepAlive struct {
	conn net.Conn
	r    *bufio.Reader
	buf  []byte
}

func dial(addr string) (*keepAlive, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &keepAlive{conn: conn, r: bufio.NewReader(conn)}, nil
}

// send sends the visitor's request.
func (k *keepAlive) send(v visitor) error {
	k.buf = append(k.buf[:0], "GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: "...)
	k.buf = append(k.buf, v.userAgent...)
	if v.cookie != "" {
		k.buf = append(append(k.buf, "\r\nCookie: "...), v.cookie...)
	}
	k.buf = append(k.buf, "\r\n\r\n"...)
	k.conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err := k.conn.Write(k.buf)
	return err
}

// get sends the visitor's request and reads the whole answer.
func (k *keepAlive) get(v visitor) (*http.Response, error) {
	if err := k.send(v); err != nil {
		return nil, err
	}
	res, err := http.ReadResponse(k.r, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", res.StatusCode)
	}
	return res, err
}

// headerBytes sends the visitor's request and counts the bytes of the
// answer's status line and headers, as they came over the wire; the
// connection cannot be used after it.
func (k *keepAlive) headerBytes(v visitor) (int, error) {
	if err := k.send(v); err != nil {
		return 0, err
	}
	n := 0
	for {
		line, err := k.r.ReadString('\n')
		n += len(line)
		if err != nil || line == "\r\n" {
			return n, err
		}
	}
}

func (k *keepAlive) close() {
	if k != nil {
		k.conn.Close()
	}
}

// fetch sends the visitor's request and reads the whole answer.
func fetch(client *http.Client, url string, v visitor) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", v.userAgent)
	if v.cookie != "" {
		req.Header.Set("Cookie", v.cookie)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, nil
}

// onConnections runs work on each of pacedConnections goroutines, each with
// a connection of its own to addr, and returns a function that waits for
// them all.
func onConnections(addr string, work func(conn *redialer)) (wait func()) {
	var wg sync.WaitGroup
	for range pacedConnections {
		wg.Go(func() {
			conn := redialer{addr: addr}
			defer conn.close()
			work(&conn)
		})
	}
	return wg.Wait
}

// redialer keeps one keep-alive connection to addr: dialled when first
// needed, and again after a request on it failed.
type redialer struct {
	addr string
	conn *keepAlive
}

// do runs f on the connection; on failure the connection is dropped.
func (r *redialer) do(f func(*keepAlive) error) error {
	var err error
	if r.conn == nil {
		r.conn, err = dial(r.addr)
	}
	if err == nil {
		err = f(r.conn)
	}
	if err != nil {
		r.close()
	}
	return err
}

func (r *redialer) close() {
	r.conn.close()
	r.conn = nil
}
