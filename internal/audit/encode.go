package audit

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// appendJSON appends e as one compact JSON object, with the members and
// names of its json tags, to dst. It is Append's encoder: the fixed shape is
// written directly, which costs a fraction of reflection; the free-form
// members (RequestParameters, ...) take a fast path for the types callers
// use (maps of strings and of any, strings, numbers, bools, slices of
// those, jsontext.Value) and json.Marshal otherwise. Invalid UTF-8 is
// replaced by U+FFFD. The output never contains a raw newline.
func (e *Event) appendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, `{"eventVersion":`...)
	dst = appendString(dst, e.EventVersion)
	dst = append(dst, `,"userIdentity":`...)
	dst = e.UserIdentity.appendJSON(dst)
	dst = append(dst, `,"eventTime":"`...)
	dst = e.EventTime.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","eventSource":`...)
	dst = appendString(dst, e.EventSource)
	dst = append(dst, `,"eventName":`...)
	dst = appendString(dst, e.EventName)
	dst = append(dst, `,"awsRegion":`...)
	dst = appendString(dst, e.AWSRegion)
	dst = append(dst, `,"sourceIPAddress":`...)
	dst = appendString(dst, e.SourceIPAddress)
	dst = append(dst, `,"userAgent":`...)
	dst = appendString(dst, e.UserAgent)
	dst = appendOptString(dst, `,"errorCode":`, e.ErrorCode)
	dst = appendOptString(dst, `,"errorMessage":`, e.ErrorMessage)
	var err error
	dst = append(dst, `,"requestParameters":`...)
	if dst, err = appendAny(dst, e.RequestParameters, 0); err != nil {
		return dst, err
	}
	dst = append(dst, `,"responseElements":`...)
	if dst, err = appendAny(dst, e.ResponseElements, 0); err != nil {
		return dst, err
	}
	if e.AdditionalEventData != nil {
		dst = append(dst, `,"additionalEventData":`...)
		if dst, err = appendAny(dst, e.AdditionalEventData, 0); err != nil {
			return dst, err
		}
	}
	if e.ServiceEventDetails != nil {
		dst = append(dst, `,"serviceEventDetails":`...)
		if dst, err = appendAny(dst, e.ServiceEventDetails, 0); err != nil {
			return dst, err
		}
	}
	dst = appendOptString(dst, `,"requestID":`, e.RequestID)
	dst = append(dst, `,"eventID":`...)
	dst = appendString(dst, e.EventID)
	dst = append(dst, `,"readOnly":`...)
	dst = strconv.AppendBool(dst, e.ReadOnly)
	if len(e.Resources) > 0 {
		dst = append(dst, `,"resources":[`...)
		for i, r := range e.Resources {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"accountId":`...)
			dst = appendString(dst, r.AccountID)
			dst = append(dst, `,"type":`...)
			dst = appendString(dst, r.Type)
			dst = append(dst, `,"ARN":`...)
			dst = appendString(dst, r.ARN)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"eventType":`...)
	dst = appendString(dst, e.EventType)
	dst = append(dst, `,"managementEvent":`...)
	dst = strconv.AppendBool(dst, e.ManagementEvent)
	dst = append(dst, `,"recipientAccountId":`...)
	dst = appendString(dst, e.RecipientAccountID)
	dst = append(dst, `,"eventCategory":`...)
	dst = appendString(dst, e.EventCategory)
	if t := e.TLSDetails; t != nil {
		dst = append(dst, `,"tlsDetails":{"tlsVersion":`...)
		dst = appendString(dst, t.TLSVersion)
		dst = append(dst, `,"cipherSuite":`...)
		dst = appendString(dst, t.CipherSuite)
		dst = append(dst, `,"clientProvidedHostHeader":`...)
		dst = appendString(dst, t.ClientProvidedHostHeader)
		dst = append(dst, '}')
	}
	if a := e.Authorization; a != nil {
		dst = append(dst, `,"custosAuthorization":{"decision":`...)
		dst = appendString(dst, a.Decision)
		dst = appendOptString(dst, `,"reason":`, a.Reason)
		if len(a.Statements) > 0 {
			dst = append(dst, `,"statements":`...)
			dst = appendStrings(dst, a.Statements)
		}
		dst = append(dst, '}')
	}
	if len(e.Findings) > 0 {
		dst = append(dst, `,"custosFindings":[`...)
		for i, f := range e.Findings {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"key":`...)
			dst = appendString(dst, f.Key)
			dst = append(dst, `,"kind":`...)
			dst = appendString(dst, f.Kind)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}

func (u *UserIdentity) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	first := true
	member := func(name, v string, always bool) {
		if v == "" && !always {
			return
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, name...)
		dst = appendString(dst, v)
	}
	member(`"type":`, u.Type, false)
	member(`"principalId":`, u.PrincipalID, false)
	member(`"arn":`, u.ARN, false)
	member(`"accountId":`, u.AccountID, true)
	member(`"accessKeyId":`, u.AccessKeyID, false)
	member(`"userName":`, u.UserName, false)
	if s := u.SessionContext; s != nil {
		dst = append(dst, `,"sessionContext":{`...)
		if i := s.SessionIssuer; i != nil {
			dst = append(dst, `"sessionIssuer":{"type":`...)
			dst = appendString(dst, i.Type)
			dst = append(dst, `,"principalId":`...)
			dst = appendString(dst, i.PrincipalID)
			dst = append(dst, `,"arn":`...)
			dst = appendString(dst, i.ARN)
			dst = append(dst, `,"accountId":`...)
			dst = appendString(dst, i.AccountID)
			dst = append(dst, `,"userName":`...)
			dst = appendString(dst, i.UserName)
			dst = append(dst, `},`...)
		}
		dst = append(dst, `"attributes":{"creationDate":`...)
		dst = appendString(dst, s.Attributes.CreationDate)
		dst = append(dst, `,"mfaAuthenticated":`...)
		dst = appendString(dst, s.Attributes.MFAAuthenticated)
		dst = append(dst, '}')
		dst = appendOptString(dst, `,"sourceIdentity":`, s.SourceIdentity)
		dst = append(dst, '}')
	}
	member(`"invokedBy":`, u.InvokedBy, false)
	return append(dst, '}')
}

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst, _ = jsontext.AppendQuote(dst, s)
	return dst
}

func appendOptString(dst []byte, name, s string) []byte {
	if s == "" {
		return dst
	}
	return appendString(append(dst, name...), s)
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

// maxAnyDepth bounds the nesting appendAny follows itself.
const maxAnyDepth = 32

// appendAny appends v as JSON: maps with their keys sorted.
func appendAny(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxAnyDepth {
		return appendMarshal(dst, v)
	}
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, v), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return appendMarshal(dst, v) // json reports the error
		}
		return jsontext.AppendFloat(dst, v, 64), nil
	case []string:
		if v == nil {
			return append(dst, "null"...), nil
		}
		return appendStrings(dst, v), nil
	case map[string]string:
		if v == nil {
			return append(dst, "null"...), nil
		}
		var keyBuf [16]string
		dst = append(dst, '{')
		for i, k := range sortedKeys(keyBuf[:0], v) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendString(dst, v[k])
		}
		return append(dst, '}'), nil
	case map[string]any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		var keyBuf [16]string
		dst = append(dst, '{')
		var err error
		for i, k := range sortedKeys(keyBuf[:0], v) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			if dst, err = appendAny(dst, v[k], depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		var err error
		for i, x := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendAny(dst, x, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case jsontext.Value:
		c := v.Clone()
		if err := c.Compact(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)); err != nil {
			return dst, err
		}
		return append(dst, c...), nil
	}
	return appendMarshal(dst, v)
}

func appendMarshal(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v, jsontext.AllowInvalidUTF8(true), json.Deterministic(true))
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// sortedKeys appends m's keys to dst in order; a caller passing a small
// array's slice keeps small maps free of allocation.
func sortedKeys[V any](dst []string, m map[string]V) []string {
	for k := range m {
		dst = append(dst, k)
	}
	slices.Sort(dst)
	return dst
}
