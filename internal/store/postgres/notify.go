package postgres

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Change notification between nodes.
//
// Every channel has a version counter, a row of the table notifications.
// Notify increments it and sends NOTIFY channel, 'version' in the same
// statement, so the notification goes out when (and only if) the increment
// commits. Each Store that has subscribers keeps one dedicated connection
// that LISTENs to their channels, and every pollInterval it also reads the
// counters of those channels and signals each one whose counter moved.
//
// Staleness bound. A Notify that commits at time T reaches the subscribers
// of every node whose listener is connected a few milliseconds later
// (PostgreSQL delivers NOTIFY to listeners on commit; about 1 ms measured
// on loopback). If the notification itself is lost (the listening
// connection broke at that moment), the next poll finds the counter moved:
// subscribers are signalled by T + pollInterval + one query, within about
// 500 ms; after a reconnection the listener polls at once. A Notify that
// never happens (the node making the change died between its commit and
// its Notify) moves no counter: for that case every subscription is also
// signalled every resyncInterval (10 s) whatever happened, which bounds the
// staleness of a cache that reloads on every signal. A node that cannot
// reach the database cannot poll: its subscribers are then signalled every
// pollInterval, after at most pollTimeout of silence, so that they re-read
// their data, meet store.ErrUnavailable and stop trusting their caches.
const (
	pollInterval   = 500 * time.Millisecond
	pollTimeout    = 2 * time.Second
	resyncInterval = 10 * time.Second
)

const (
	qNotify = `WITH v AS (
		INSERT INTO notifications (channel, version) VALUES ($1, 1)
		ON CONFLICT (channel) DO UPDATE SET version = notifications.version + 1
		RETURNING version)
	SELECT pg_notify($1, version::text) FROM v`
	qVersions = `SELECT channel, version FROM notifications WHERE channel = ANY ($1::text[])`
)

// maxChannel is PostgreSQL's limit on the length of a channel name.
const maxChannel = 63

// Notify signals channel's subscribers on every node; see store.Notifier.
// It returns an error wrapping store.ErrUnavailable if the database cannot
// be reached.
func (s *Store) Notify(ctx context.Context, channel string) error {
	if err := checkChannel(channel); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, qNotify, channel); err != nil {
		return fmt.Errorf("postgres: notify %s: %w", channel, classify(ctx, err))
	}
	return nil
}

// Subscribe returns a channel signalled after each Notify of channel on any
// node (coalesced), once as soon as the subscription is in place, and every
// resyncInterval; see store.Notifier and the staleness bound above. It does
// not wait for the database: while the database cannot be reached, the
// channel is signalled every pollInterval or so.
func (s *Store) Subscribe(ctx context.Context, channel string) (<-chan struct{}, error) {
	if err := checkChannel(channel); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: subscribe %s: %w", channel, err)
	}
	return s.notify.subscribe(ctx, channel)
}

func checkChannel(channel string) error {
	if channel == "" || len(channel) > maxChannel {
		return fmt.Errorf("postgres: channel name %q: want 1 to %d bytes", channel, maxChannel)
	}
	return nil
}

// notifier runs the listening connection of one Store. Its goroutine starts
// with the first subscription.
type notifier struct {
	pool     *pgxpool.Pool
	connCfg  *pgx.ConnConfig
	interval time.Duration // pollInterval
	resync   time.Duration // resyncInterval

	mu       sync.Mutex
	channels map[string]*channelState
	pending  bool               // channels changed since the loop last looked
	wake     context.CancelFunc // ends the loop's current wait, if it waits
	closed   bool
	cancel   context.CancelFunc // stops the loop; nil until it starts
	done     chan struct{}      // closed when the loop has stopped
}

// channelState is what the notifier knows of one channel.
type channelState struct {
	version int64 // last counter seen
	known   bool  // version was read since the channel was added
	subs    map[*subscription]struct{}
}

type subscription struct {
	c    chan struct{} // buffer of one
	stop func() bool   // unregisters the context.AfterFunc
}

func newNotifier(pool *pgxpool.Pool, cfg *pgx.ConnConfig, interval time.Duration) *notifier {
	return &notifier{pool: pool, connCfg: cfg.Copy(), interval: interval, resync: resyncInterval,
		channels: make(map[string]*channelState), done: make(chan struct{})}
}

func (n *notifier) subscribe(ctx context.Context, channel string) (<-chan struct{}, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, fmt.Errorf("postgres: subscribe %s: store closed", channel)
	}
	if n.cancel == nil {
		loopCtx, cancel := context.WithCancel(context.Background())
		n.cancel = cancel
		go n.run(loopCtx)
	}
	st := n.channels[channel]
	if st == nil {
		st = &channelState{subs: make(map[*subscription]struct{})}
		n.channels[channel] = st
		n.poke()
	}
	sub := &subscription{c: make(chan struct{}, 1)}
	st.subs[sub] = struct{}{}
	if st.known {
		// The channel is already listened to: this subscription is in
		// place now.
		sub.c <- struct{}{}
	}
	sub.stop = context.AfterFunc(ctx, func() { n.unsubscribe(channel, sub) })
	return sub.c, nil
}

// poke tells the loop that the channels changed. n.mu must be held.
func (n *notifier) poke() {
	n.pending = true
	if n.wake != nil {
		n.wake()
	}
}

func (n *notifier) unsubscribe(channel string, sub *subscription) {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.channels[channel]
	if st == nil {
		return // closed
	}
	if _, ok := st.subs[sub]; !ok {
		return
	}
	delete(st.subs, sub)
	close(sub.c)
	if len(st.subs) == 0 {
		delete(n.channels, channel)
		n.poke()
	}
}

// close stops the loop and closes every subscription's channel.
func (n *notifier) close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	for _, st := range n.channels {
		for sub := range st.subs {
			sub.stop()
			close(sub.c)
		}
	}
	n.channels = nil
	cancel := n.cancel
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		<-n.done
	}
}

// run keeps a listening connection until ctx ends, reconnecting after
// failures.
func (n *notifier) run(ctx context.Context) {
	defer close(n.done)
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, pollTimeout)
		conn, err := pgx.ConnectConfig(cctx, n.connCfg)
		cancel()
		if err == nil {
			n.serve(ctx, conn)
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(cctx)
			cancel()
		}
		if ctx.Err() != nil {
			return
		}
		// Out of touch: whatever changed is unknown.
		n.signalAll()
		sleep(ctx, n.interval)
	}
}

// serve listens and polls on conn until the connection fails or ctx ends.
func (n *notifier) serve(ctx context.Context, conn *pgx.Conn) {
	listening := make(map[string]bool)
	var lastPoll time.Time
	lastResync := time.Now()
	for {
		n.mu.Lock()
		n.pending = false
		want := make(map[string]bool, len(n.channels))
		unknown := false
		for ch, st := range n.channels {
			want[ch] = true
			unknown = unknown || !st.known
		}
		n.mu.Unlock()

		qctx, cancel := context.WithTimeout(ctx, pollTimeout)
		err := syncListens(qctx, conn, listening, want)
		if err == nil && (unknown || time.Since(lastPoll) >= n.interval) {
			if len(want) > 0 {
				err = n.poll(qctx, conn, want)
			}
			lastPoll = time.Now()
		}
		cancel()
		if err != nil {
			return
		}
		if time.Since(lastResync) >= n.resync {
			n.signalAll()
			lastResync = time.Now()
		}

		// Wait for a notification until the next poll or a change of
		// channels.
		n.mu.Lock()
		if n.pending {
			n.mu.Unlock()
			continue
		}
		wctx, wake := context.WithDeadline(ctx, lastPoll.Add(n.interval))
		n.wake = wake
		n.mu.Unlock()
		note, err := conn.WaitForNotification(wctx)
		n.mu.Lock()
		n.wake = nil
		n.mu.Unlock()
		wake()
		switch {
		case ctx.Err() != nil:
			return
		case note != nil:
			n.notified(note.Channel, note.Payload)
		case err != nil && wctx.Err() == nil:
			return // the connection failed
		}
		if conn.IsClosed() {
			return
		}
	}
}

// syncListens makes conn listen to the channels of want and no other;
// listening is what it listens to, updated.
func syncListens(ctx context.Context, conn *pgx.Conn, listening, want map[string]bool) error {
	for ch := range want {
		if listening[ch] {
			continue
		}
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return err
		}
		listening[ch] = true
	}
	for ch := range listening {
		if want[ch] {
			continue
		}
		if _, err := conn.Exec(ctx, "UNLISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return err
		}
		delete(listening, ch)
	}
	return nil
}

// poll reads the counters of the channels of want and signals those that
// moved, and those read for the first time.
func (n *notifier) poll(ctx context.Context, conn *pgx.Conn, want map[string]bool) error {
	names := make([]string, 0, len(want))
	for ch := range want {
		names = append(names, ch)
	}
	versions := make(map[string]int64, len(names))
	rows, err := conn.Query(ctx, qVersions, names)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			ch string
			v  int64
		)
		if err := rows.Scan(&ch, &v); err != nil {
			rows.Close()
			return err
		}
		versions[ch] = v
	}
	if err := rows.Err(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range names {
		st := n.channels[ch]
		if st == nil {
			continue // unsubscribed meanwhile
		}
		v := versions[ch] // 0: never notified
		if !st.known || v > st.version {
			st.known, st.version = true, max(st.version, v)
			signal(st)
		}
	}
	return nil
}

// notified handles a notification: its payload is the new counter.
func (n *notifier) notified(channel, payload string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.channels[channel]
	if st == nil {
		return
	}
	if v, err := strconv.ParseInt(payload, 10, 64); err == nil && st.known && v > st.version {
		st.version = v
	}
	signal(st)
}

// signalAll signals every subscription, for when the notifier lost touch
// with the database.
func (n *notifier) signalAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, st := range n.channels {
		signal(st)
	}
}

// signal wakes every subscriber of st without blocking. n.mu must be held.
func signal(st *channelState) {
	for sub := range st.subs {
		select {
		case sub.c <- struct{}{}:
		default: // already signalled, not yet read
		}
	}
}
