package testredis

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards connections to a server and can hold the server's replies
// for a while: commands reach the server at once and run, their answers
// arrive late, like a congested network or an instance too busy to read.
type Proxy struct {
	t      testing.TB
	target string
	ln     net.Listener
	delay  atomic.Int64 // how long each reply is held, ns
	wg     sync.WaitGroup
}

// StartProxy forwards a loopback port to target until the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, target: target, ln: ln}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

// Addr is host:port of the proxy.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// HoldReplies makes every reply from now on arrive d after the server sent
// it (0: at once); replies keep their order.
func (p *Proxy) HoldReplies(d time.Duration) { p.delay.Store(int64(d)) }

func (p *Proxy) accept() {
	defer p.wg.Done()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		conns.Add(2)
		go func() {
			defer conns.Done()
			io.Copy(server, client)
			server.Close()
		}()
		go func() {
			defer conns.Done()
			p.forwardReplies(client, server)
			client.Close()
		}()
	}
}

// reply is bytes the server sent, with the time they may be passed on.
type reply struct {
	data []byte
	due  time.Time
}

// forwardReplies reads the server's bytes as they come and writes each
// chunk to the client once its hold has passed.
func (p *Proxy) forwardReplies(client, server net.Conn) {
	queue := make(chan reply, 1024)
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, 32<<10)
			n, err := server.Read(buf)
			if n > 0 {
				queue <- reply{buf[:n], time.Now().Add(time.Duration(p.delay.Load()))}
			}
			if err != nil {
				return
			}
		}
	}()
	for r := range queue {
		time.Sleep(time.Until(r.due))
		if _, err := client.Write(r.data); err != nil {
			server.Close()
			for range queue { // let the reader end
			}
			return
		}
	}
}
