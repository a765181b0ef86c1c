package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/custoskms/custos/internal/store"
)

// proxy forwards loopback TCP connections to the test database. Stopping it
// cuts every connection and refuses new ones, as a database that went away
// would, without disturbing the database other tests use.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target, conns: make(map[net.Conn]struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.forward(c) })
		}
	})
}

func (p *proxy) forward(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // stopped meanwhile
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var once sync.Once
	closeBoth := func() { once.Do(func() { client.Close(); server.Close() }) }
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(server, client); closeBoth() })
	wg.Go(func() { io.Copy(client, server); closeBoth() })
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// stop refuses new connections and cuts the open ones.
func (p *proxy) stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// restart listens again on the same address.
func (p *proxy) restart() {
	var (
		ln  net.Listener
		err error
	)
	for range 50 { // the port may linger for a moment
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// throughProxy returns rawURL pointing at a new proxy to its host.
func throughProxy(t *testing.T, rawURL string) (*proxy, string) {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	u.Host = p.addr
	return p, u.String()
}

// TestDatabaseOutage cuts the database away from a Store and brings it
// back: meanwhile every call fails promptly with store.ErrUnavailable,
// afterwards the same Store works again.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	direct := newSchema(t)
	p, proxied := throughProxy(t, direct)
	s := open(t, proxied)
	other := open(t, direct) // another node, which keeps its database

	k := store.Key{ARN: "arn:aws:kms:us-east-1:111111111111:key/before", AccountID: "111111111111", Region: "us-east-1", ID: "before"}
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertKey(k) }); err != nil {
		t.Fatalf("Update before the outage = %v", err)
	}
	changes, err := s.Subscribe(t.Context(), "keys")
	if err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	waitSignal(t, changes, 5*time.Second, "subscription in place")

	// The connection goes away in the middle of a transaction.
	err = s.Update(t.Context(), func(tx store.Tx) error {
		p.stop()
		return tx.InsertKey(store.Key{ARN: k.ARN + "-during", AccountID: k.AccountID, Region: k.Region, ID: "during"})
	})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Update losing its connection = %v, want %v", err, store.ErrUnavailable)
	}

	calls := []struct {
		name string
		fn   func(ctx context.Context) error
	}{
		{"View", func(ctx context.Context) error {
			return s.View(ctx, func(tx store.Tx) error { _, err := tx.GetKey(k.ARN); return err })
		}},
		{"Update", func(ctx context.Context) error {
			return s.Update(ctx, func(tx store.Tx) error {
				return tx.InsertAccount(store.Account{ID: "222222222222"})
			})
		}},
		{"Notify", func(ctx context.Context) error { return s.Notify(ctx, "keys") }},
		{"TryLease", func(ctx context.Context) error { _, err := s.TryLease(ctx, "sweeper", time.Second); return err }},
	}
	for _, c := range calls {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		start := time.Now()
		err := c.fn(ctx)
		cancel()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s while the database is away = %v, want %v", c.name, err, store.ErrUnavailable)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s while the database is away took %v, want a prompt failure", c.name, d)
		}
	}
	// Subscribers are told that their data may be stale.
	waitSignal(t, changes, 5*time.Second, "outage")

	p.restart()
	for _, c := range calls[:2] {
		if err := c.fn(t.Context()); err != nil {
			t.Errorf("%s after the database came back = %v", c.name, err)
		}
	}
	err = s.View(t.Context(), func(tx store.Tx) error {
		if _, err := tx.GetKey(k.ARN + "-during"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetKey(inserted by the Update that lost its connection) = %v, want %v", err, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		t.Errorf("View after the outage = %v", err)
	}

	// The listener is back too: a change made by another node arrives.
	drain(changes)
	time.Sleep(2 * pollInterval) // let the listener reconnect
	drain(changes)
	start := time.Now()
	if err := other.Notify(t.Context(), "keys"); err != nil {
		t.Fatalf("Notify on the other node = %v", err)
	}
	waitSignal(t, changes, 5*time.Second, "Notify after the outage")
	t.Logf("notification after the outage arrived in %v", time.Since(start))
}

// waitSignal fails the test unless c is signalled within d.
func waitSignal(t *testing.T, c <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case _, ok := <-c:
		if !ok {
			t.Fatalf("%s: subscription channel closed, want a signal", what)
		}
	case <-time.After(d):
		t.Fatalf("%s: no signal within %v", what, d)
	}
}

// drain empties c's buffer.
func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// TestDatabaseRestart cuts every connection of a Store and accepts new
// ones at once, as a database restart does: the next calls succeed, on new
// connections, although the pooled ones are all dead.
func TestDatabaseRestart(t *testing.T) {
	t.Parallel()
	p, proxied := throughProxy(t, newSchema(t))
	s := open(t, proxied)
	// Fill the pool: several transactions at once, each on a connection.
	conns := int(s.pool.Config().MaxConns)
	var wg sync.WaitGroup
	hold := make(chan struct{})
	for range conns {
		wg.Go(func() {
			err := s.View(t.Context(), func(tx store.Tx) error {
				<-hold
				_, err := tx.GetAccount("111111111111")
				if errors.Is(err, store.ErrNotFound) {
					return nil
				}
				return err
			})
			if err != nil {
				t.Errorf("View = %v", err)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	close(hold)
	wg.Wait()
	if n := s.pool.Stat().IdleConns(); n < 2 {
		t.Fatalf("pool holds %d idle connections, want several", n)
	}

	p.stop()
	p.restart()
	err := s.Update(t.Context(), func(tx store.Tx) error {
		return tx.InsertAccount(store.Account{ID: "111111111111"})
	})
	if err != nil {
		t.Errorf("Update just after a restart = %v, want nil", err)
	}
	err = s.View(t.Context(), func(tx store.Tx) error { _, err := tx.GetAccount("111111111111"); return err })
	if err != nil {
		t.Errorf("View just after a restart = %v, want nil", err)
	}
}
