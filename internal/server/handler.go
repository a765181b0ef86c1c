package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/iam"
	"github.com/custoskms/custos/internal/kms"
	"github.com/custoskms/custos/internal/sigv4"
)

// defaultMaxBody bounds the body of a request whose operation is unknown.
const defaultMaxBody = 64 << 10

// ServeHTTP routes a request: the health and metrics endpoints, and the AWS
// APIs on POST /.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/":
		s.serveAPI(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/health":
		s.serveHealth(w)
	case r.Method == http.MethodGet && r.URL.Path == "/metrics":
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		s.metrics.write(w)
	default:
		awsproto.WriteJSONError(w, newRequestID(), &awsproto.Error{Code: "UnknownOperationException", Status: http.StatusNotFound})
	}
}

// serveHealth answers 200 only when the store is open and the root key
// unsealed, that is, between Start and Close.
func (s *Server) serveHealth(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"unavailable"}`)
		return
	}
	io.WriteString(w, `{"status":"ok"}`)
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// readBody reads the whole request body, refusing more than limit bytes.
// The returned buffer goes back to bodyPool when the request is done.
func readBody(r *http.Request, limit int64) (*[]byte, error) {
	tooLarge := awsproto.Errorf("RequestEntityTooLargeException", "Request body must be at most %d bytes.", limit)
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	bp := bodyPool.Get().(*[]byte)
	b := (*bp)[:0]
	if r.ContentLength > 0 && int64(cap(b)) < r.ContentLength {
		b = make([]byte, 0, r.ContentLength)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			*bp = b[:0]
			bodyPool.Put(bp)
			return nil, tooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			*bp = b[:0]
			bodyPool.Put(bp)
			return nil, awsproto.Errorf("SerializationException", "The request body could not be read.")
		}
	}
	*bp = b
	return bp, nil
}

func releaseBody(bp *[]byte) {
	if bp == nil || cap(*bp) > 1<<20 {
		return
	}
	*bp = (*bp)[:0]
	bodyPool.Put(bp)
}

// serveAPI serves one JSON 1.1 request: read, authenticate, dispatch,
// reply.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := newRequestID()
	service, opName, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	var op *kms.Operation
	if service == "TrentService" {
		op, _ = kms.LookupOperation(opName)
	}
	metric, limit := "Unknown", int64(defaultMaxBody)
	if op != nil {
		metric, limit = op.Name, op.MaxBody
	}

	code := ""
	out, err := s.call(r, op, limit)
	if err == nil {
		err = awsproto.WriteJSON(w, reqID, out)
		if err != nil {
			s.log.Error("server: encode reply", "op", metric, "err", err)
			err = awsproto.Internal()
		}
	}
	if err != nil {
		e, ok := awsproto.As(err)
		if !ok {
			s.log.Error("server: request failed", "op", metric, "err", err)
			e = awsproto.Internal()
		}
		code = e.Code
		awsproto.WriteJSONError(w, reqID, e)
	}
	s.metrics.observe(metric, code, time.Since(start))
}

func (s *Server) call(r *http.Request, op *kms.Operation, limit int64) (any, error) {
	bp, err := readBody(r, limit)
	if err != nil {
		return nil, err
	}
	defer releaseBody(bp)
	body := *bp
	caller, err := s.authenticate(r, body)
	if err != nil {
		return nil, err
	}
	if op == nil {
		return nil, &awsproto.Error{Code: "UnknownOperationException", Status: http.StatusBadRequest}
	}
	return s.kms.Call(r.Context(), op, caller, body)
}

// authenticate verifies the request's SigV4 signature and returns the
// caller it proves.
func (s *Server) authenticate(r *http.Request, body []byte) (*kms.Caller, error) {
	// Load the access key first, so that a store failure is an internal
	// error rather than an unknown key.
	if id := accessKeyIDOf(r.Header.Get("Authorization")); id != "" {
		if _, _, _, err := s.dir.Lookup(r.Context(), id); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, awsproto.Errorf("DependencyTimeoutException", "The request timed out.")
			}
			s.log.Error("server: credential lookup", "err", err)
			return nil, awsproto.Internal()
		}
	}
	res, err := s.verifier.Verify(r, body)
	if err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			return nil, awsproto.Errorf(se.Code, "%s", se.Message)
		}
		return nil, err
	}
	if s.regions != nil && !s.regions[res.Region] {
		return nil, awsproto.Errorf("InvalidSignatureException", "Credential should be scoped to a valid region. ")
	}
	_, p, ok, err := s.dir.Lookup(r.Context(), res.AccessKeyID)
	if err != nil || !ok {
		return nil, awsproto.Errorf("UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	if res.SecurityToken != "" {
		// Long-term credentials carry no session token; temporary
		// credentials are not issued yet.
		return nil, awsproto.Errorf("UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	return callerOf(p, res.Region, r), nil
}

func callerOf(p iam.Principal, region string, r *http.Request) *kms.Caller {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return &kms.Caller{
		AccountID:   p.AccountID,
		ARN:         p.ARN,
		Type:        p.Type,
		UserID:      p.UserID,
		AccessKeyID: p.AccessKeyID,
		Region:      region,
		SourceIP:    ip,
		Secure:      r.TLS != nil,
	}
}

// accessKeyIDOf finds the access key id in an Authorization header
// ("... Credential=AKID/date/region/service/aws4_request, ..."), or "".
func accessKeyIDOf(auth string) string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	id, _, ok := strings.Cut(rest, "/")
	if !ok || len(id) > 128 {
		return ""
	}
	return id
}

// newRequestID returns a random request id in UUID form.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}
