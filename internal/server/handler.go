package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/custoskms/custos/internal/audit"
	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/iam"
	"github.com/custoskms/custos/internal/kms"
	"github.com/custoskms/custos/internal/org"
	"github.com/custoskms/custos/internal/sigv4"
	"github.com/custoskms/custos/internal/store"
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
	tooLarge := func() error {
		return awsproto.Errorf("RequestEntityTooLargeException", "Request body must be at most %d bytes.", limit)
	}
	if r.ContentLength > limit {
		return nil, tooLarge()
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
			return nil, tooLarge()
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

// Operation is one operation of a JSON 1.1 API.
type Operation struct {
	Name     string
	MaxBody  int64
	ReadOnly bool
	Call     func(ctx context.Context, c *caller.Caller, body []byte) (any, error)
}

// jsonAPI is a JSON 1.1 API served on the endpoint, found by the prefix of
// X-Amz-Target.
type jsonAPI struct {
	service   string // the SigV4 scope service its requests are signed for
	operation func(name string) (Operation, bool)
}

// queryAPI is a Query-protocol API (form in, XML out), found by the SigV4
// scope service of the request.
type queryAPI struct {
	namespace string // the XML namespace of its replies
	call      func(ctx context.Context, c *caller.Caller, action string, form url.Values) (any, error)
}

// routes names the APIs served on the endpoint.
func (s *Server) routes() {
	kmsOps := map[string]Operation{}
	for _, op := range kms.Operations() {
		kmsOps[op.Name] = Operation{Name: op.Name, MaxBody: op.MaxBody, ReadOnly: op.ReadOnly, Call: func(ctx context.Context, c *caller.Caller, body []byte) (any, error) {
			return s.kms.Call(ctx, op, c, body)
		}}
	}
	s.jsonAPIs = map[string]jsonAPI{
		"TrentService": {service: "kms", operation: func(name string) (Operation, bool) {
			op, ok := kmsOps[name]
			return op, ok
		}},
	}
	s.jsonAPIs["AWSOrganizationsV20161128"] = jsonAPI{service: "organizations", operation: func(name string) (Operation, bool) {
		limit, ok := org.MaxBody(name)
		if !ok {
			return Operation{}, false
		}
		return Operation{Name: name, MaxBody: limit, ReadOnly: readOnlyAction(name), Call: func(ctx context.Context, c *caller.Caller, body []byte) (any, error) {
			return s.org.Call(ctx, c, name, body)
		}}, true
	}}
	s.jsonAPIs["com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"] = jsonAPI{service: "cloudtrail", operation: func(name string) (Operation, bool) {
		if name != "LookupEvents" {
			return Operation{}, false
		}
		return Operation{Name: name, MaxBody: defaultMaxBody, ReadOnly: true, Call: func(ctx context.Context, c *caller.Caller, body []byte) (any, error) {
			if !c.IsRoot() {
				if err := authorizeIdentity(ctx, c, "cloudtrail:LookupEvents", "*"); err != nil {
					return nil, err
				}
			}
			return s.events.LookupEvents(ctx, audit.Scope{AccountID: c.AccountID, Region: c.Region}, body)
		}}, true
	}}
	// Some SDKs send the short form of CloudTrail's target prefix.
	s.jsonAPIs["CloudTrail_20131101"] = s.jsonAPIs["com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"]
	s.queryAPIs = map[string]queryAPI{
		"iam": {namespace: iam.IAMNamespace, call: s.iam.IAM},
		"sts": {namespace: iam.STSNamespace, call: s.iam.STS},
	}
	s.explainRoutes()
}

// services lists the SigV4 scope services the endpoint accepts.
func (s *Server) services() []string {
	out := []string{}
	for _, api := range s.jsonAPIs {
		if !slices.Contains(out, api.service) {
			out = append(out, api.service)
		}
	}
	for svc := range s.queryAPIs {
		out = append(out, svc)
	}
	slices.Sort(out)
	// kms first: the verifier names the first service in its messages.
	if i := slices.Index(out, "kms"); i > 0 {
		out[0], out[i] = out[i], out[0]
	}
	return out
}

// serveAPI serves one AWS API request: read, authenticate, dispatch,
// record in the audit trail, reply. Nothing is answered before its audit
// record is durable; if it cannot be written, the request fails.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	x := &exchange{r: r, requestID: newRequestID(), trail: &caller.Trail{}}
	target := r.Header.Get("X-Amz-Target")
	query := target == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")

	var (
		api   jsonAPI
		op    Operation
		found bool
	)
	limit := int64(defaultMaxBody)
	if query {
		limit = queryMaxBody
	} else {
		// The operation follows the last dot: some prefixes have dots of
		// their own (com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101).
		prefix, name := target, ""
		if i := strings.LastIndexByte(target, '.'); i >= 0 {
			prefix, name = target[:i], target[i+1:]
		}
		x.op = clip(name, 64)
		if api, found = s.jsonAPIs[prefix]; found {
			x.service = api.service
			if op, found = api.operation(name); found {
				limit = op.MaxBody
				x.readOnly = op.ReadOnly
			}
		}
	}

	var (
		out       any
		err       error
		namespace string
	)
	bp, err := readBody(r, limit)
	if err == nil {
		body := *bp
		var scope string
		x.caller, scope, err = s.authenticate(r, body)
		if x.caller != nil {
			x.caller.Trail = x.trail
		}
		switch {
		case err != nil:
		case query:
			x.service = scope
			var qa queryAPI
			if qa, found = s.queryAPIs[scope]; !found {
				err = &awsproto.Error{Code: "UnknownOperationException", Status: http.StatusBadRequest}
				break
			}
			namespace = qa.namespace
			var form url.Values
			if form, err = url.ParseQuery(string(body)); err != nil {
				err = awsproto.Errorf("MalformedQueryString", "The request body is not a valid form.")
				break
			}
			action := form.Get("Action")
			x.op = clip(action, 64)
			x.readOnly = readOnlyAction(action)
			out, err = qa.call(r.Context(), x.caller, action, form)
		case !found:
			err = &awsproto.Error{Code: "UnknownOperationException", Status: http.StatusBadRequest}
		case scope != api.service:
			err = awsproto.Errorf("InvalidSignatureException", "Credential should be scoped to correct service: '%s'. ", api.service)
		default:
			out, err = op.Call(r.Context(), x.caller, body)
		}
		releaseBody(bp)
	}
	if err != nil {
		x.err = s.clientError(x.op, err)
	}
	if rerr := s.record(r.Context(), x); rerr != nil {
		s.log.Error("server: audit record failed; the request fails", "op", x.op, "err", rerr)
		out, x.err = nil, awsproto.Internal()
	}

	metric := x.op
	if !found {
		metric = "Unknown"
	} else if query {
		metric = x.service + ":" + x.op
	}
	if x.err == nil {
		if query {
			err = awsproto.WriteXML(w, x.requestID, out)
		} else {
			err = awsproto.WriteJSON(w, x.requestID, out)
		}
		if err != nil {
			s.log.Error("server: encode reply", "op", metric, "err", err)
			x.err = awsproto.Internal()
		}
	}
	code := ""
	if x.err != nil {
		code = x.err.Code
		if query {
			awsproto.WriteXMLError(w, x.requestID, namespace, x.err)
		} else {
			awsproto.WriteJSONError(w, x.requestID, x.err)
		}
	}
	s.metrics.observe(metric, code, time.Since(start))
}

// clientError turns err into what a client sees; a fault that is not an
// AWS error is logged and hidden behind KMSInternalException.
func (s *Server) clientError(op string, err error) *awsproto.Error {
	if e, ok := awsproto.As(err); ok {
		return e
	}
	s.log.Error("server: request failed", "op", op, "err", err)
	return awsproto.Internal()
}

// readOnlyAction reports whether a Query action only reads, as CloudTrail
// marks it.
func readOnlyAction(action string) bool {
	for _, p := range []string{"Get", "List", "Simulate", "Describe"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// queryMaxBody bounds a Query-protocol request: policy documents of up to
// 131,072 characters, URL-encoded.
const queryMaxBody = 1 << 20

// authenticate verifies the request's SigV4 signature and returns the
// caller it proves and the scope service it was signed for.
func (s *Server) authenticate(r *http.Request, body []byte) (*caller.Caller, string, error) {
	// Load the access key first, so that a store failure is a retryable
	// error rather than an unknown key.
	id := accessKeyIDOf(r.Header.Get("Authorization"))
	known := false
	if id != "" {
		var err error
		if _, _, known, err = s.dir.Lookup(r.Context(), id); err != nil {
			return nil, "", s.storeFault(err)
		}
	}
	res, err := s.verifier.Verify(r, body)
	var se *sigv4.Error
	if errors.As(err, &se) && se.Code == sigv4.CodeUnrecognizedClient && known {
		// The key was known a moment ago: its cache entry was dropped in
		// between (another node changed IAM). Ask again.
		if _, _, _, lerr := s.dir.Lookup(r.Context(), id); lerr != nil {
			return nil, "", s.storeFault(lerr)
		}
		res, err = s.verifier.Verify(r, body)
	}
	if err != nil {
		if errors.As(err, &se) {
			return nil, "", awsproto.Errorf(se.Code, "%s", se.Message)
		}
		return nil, "", err
	}
	// IAM is global: its requests are signed for any region.
	if s.regions != nil && !s.regions[res.Region] && res.Service != "iam" {
		return nil, "", awsproto.Errorf("InvalidSignatureException", "Credential should be scoped to a valid region. ")
	}
	p, err := s.dir.Resolve(r.Context(), res.AccessKeyID, res.SecurityToken)
	if err != nil {
		return nil, "", err
	}
	c := callerOf(p, res.Region, r)
	if err := s.attachPolicies(r.Context(), c); err != nil {
		return nil, "", err
	}
	return c, res.Service, nil
}

func callerOf(p iam.Principal, region string, r *http.Request) *caller.Caller {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return &caller.Caller{
		AccountID:      p.AccountID,
		ARN:            p.ARN,
		Type:           p.Type,
		UserID:         p.UserID,
		UserName:       p.UserName,
		AccessKeyID:    p.AccessKeyID,
		RoleARN:        p.RoleARN,
		RoleName:       p.RoleName,
		SessionName:    p.SessionName,
		SessionIssued:  p.SessionIssued,
		SessionExpires: p.SessionExpires,
		Tags:           p.Tags,
		Region:         region,
		SourceIP:       ip,
		UserAgent:      r.UserAgent(),
		Secure:         r.TLS != nil,
		RequestTime:    time.Now(),
	}
}

// storeFault is what a client sees when the store fails while
// authenticating: a retryable error.
func (s *Server) storeFault(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrUnavailable) {
		return awsproto.Errorf("DependencyTimeoutException", "The service could not reach its database. Retry the request.")
	}
	s.log.Error("server: credential lookup", "err", err)
	return awsproto.Internal()
}

// accessKeyIDOf finds the access key id in an Authorization header
// ("... Credential=AKID/date/region/service/aws4_request, ..."), or "".
func accessKeyIDOf(auth string) string {
	id, _ := credentialOf(auth)
	return id
}

// credentialOf returns the access key id and the region of the credential
// scope in an Authorization header; the region is "" unless it is a
// well-formed region name.
func credentialOf(auth string) (id, region string) {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "", ""
	}
	id, rest, ok = strings.Cut(rest, "/")
	if !ok || len(id) > 128 {
		return "", ""
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) == 3 && kms.IsRegion(parts[1]) {
		region = parts[1]
	}
	return id, region
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
