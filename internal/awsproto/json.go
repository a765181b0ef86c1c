package awsproto

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// ContentTypeJSON is the media type of AWS JSON 1.1 requests and replies.
const ContentTypeJSON = "application/x-amz-json-1.1"

// DecodeJSON decodes a JSON 1.1 request body into v (a pointer to a struct
// whose fields carry `json:"Member"` tags; []byte members are base64). An
// empty body decodes as {}. Members v does not know are ignored, as AWS
// ignores them. Malformed JSON, a member of the wrong type or bad base64 is a
// SerializationException whose message never repeats the input.
func DecodeJSON(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	// Name only the top-level member: it is one of the input shape's own
	// (unknown members are skipped), while deeper segments may be map keys
	// the client chose.
	var se *json.SemanticError
	if errors.As(err, &se) && se.JSONPointer != "" {
		member, _, _ := strings.Cut(strings.TrimPrefix(string(se.JSONPointer), "/"), "/")
		return Errorf("SerializationException", "Unexpected value at /%s.", truncate(member, 128))
	}
	return Errorf("SerializationException", "Request body is not a valid JSON object.")
}

// WriteJSON writes a 200 reply with v encoded as JSON. A nil v writes "{}".
func WriteJSON(w http.ResponseWriter, requestID string, v any) error {
	body := []byte("{}")
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			return err
		}
	}
	writeJSONBody(w, requestID, http.StatusOK, body)
	return nil
}

// WriteJSONError writes e in the JSON 1.1 error shape:
// {"__type":"Code","message":"..."} with e's status.
func WriteJSONError(w http.ResponseWriter, requestID string, e *Error) {
	body, err := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.Code, e.Message}, jsontext.AllowInvalidUTF8(true))
	if err != nil {
		body = []byte(`{"__type":"KMSInternalException","message":"An internal error occurred."}`)
	}
	w.Header().Set("X-Amzn-Errortype", e.Code)
	status := e.Status
	if status == 0 {
		status = StatusOf(e.Code)
	}
	writeJSONBody(w, requestID, status, body)
}

func writeJSONBody(w http.ResponseWriter, requestID string, status int, body []byte) {
	writeBody(w, requestID, ContentTypeJSON, status, body)
}

// Time is a timestamp that travels as epoch seconds (a JSON number with
// millisecond precision), as AWS JSON protocols send timestamps.
type Time struct{ time.Time }

// MarshalJSONTo implements json.MarshalerTo.
func (t Time) MarshalJSONTo(enc *jsontext.Encoder) error {
	ms := t.UnixMilli()
	return enc.WriteToken(jsontext.Float(float64(ms) / 1000))
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (t *Time) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '0' {
		return errors.New("awsproto: timestamp is not a number")
	}
	f, err := tok.Float()
	if err != nil {
		return err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e12 {
		return errors.New("awsproto: timestamp out of range")
	}
	t.Time = time.UnixMilli(int64(math.Round(f * 1000))).UTC()
	return nil
}

// TimePtr returns a *Time for t, or nil when t is zero, for optional members.
func TimePtr(t time.Time) *Time {
	if t.IsZero() {
		return nil
	}
	return &Time{t}
}
