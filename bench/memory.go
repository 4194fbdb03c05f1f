package main

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// fillClients makes n distinct returning visitors on the target as fast as
// Caddy answers them: each one's first request gets its cookies and its
// second brings them back, so that every client is persisted. It returns
// how long that took and how many visitors failed.
func fillClients(t target, n int) (time.Duration, int64) {
	addr := fmt.Sprintf("127.0.0.1:%d", t.port)
	var next, failed atomic.Int64
	start := time.Now()
	onConnections(addr, func(conn *redialer) {
		for i := next.Add(1); i <= int64(n); i = next.Add(1) {
			v := visitor{userAgent: "Mozilla/5.0 (X11; Linux x86_64) caddy-session-bench memory " + strconv.FormatInt(i, 10)}
			if conn.do(v.visitTwice) != nil {
				failed.Add(1)
			}
		}
	})()
	return time.Since(start), failed.Load()
}

// visitTwice is a new visitor's first request and its return with the
// cookies it got.
func (v visitor) visitTwice(k *keepAlive) error {
	res, err := k.get(v)
	if err != nil {
		return err
	}
	v.cookie = cookieHeader(res)
	_, err = k.get(v)
	return err
}
