package audit

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
)

// Values of Event fields that Append fills in when they are empty.
const (
	EventVersion    = "1.11"
	EventSourceKMS  = "kms.amazonaws.com"
	EventTypeAPI    = "AwsApiCall"
	EventTypeServer = "AwsServiceEvent"
	CategoryMgmt    = "Management"
	ResourceTypeKey = "AWS::KMS::Key"
)

// Event is one audit record in CloudTrail's event format; the JSON member
// names are CloudTrail's. Custos adds custosAuthorization and custosFindings.
//
// RequestParameters, ResponseElements, AdditionalEventData and
// ServiceEventDetails are any JSON value the caller builds (a struct, a
// map[string]any, or a jsontext.Value); read back from the trail they are
// map[string]any (or nil). RequestParameters must never hold plaintexts,
// ciphertexts or key material.
type Event struct {
	EventVersion        string         `json:"eventVersion"`
	UserIdentity        UserIdentity   `json:"userIdentity"`
	EventTime           time.Time      `json:"eventTime"`
	EventSource         string         `json:"eventSource"`
	EventName           string         `json:"eventName"`
	AWSRegion           string         `json:"awsRegion"`
	SourceIPAddress     string         `json:"sourceIPAddress"`
	UserAgent           string         `json:"userAgent"`
	ErrorCode           string         `json:"errorCode,omitempty"`
	ErrorMessage        string         `json:"errorMessage,omitempty"`
	RequestParameters   any            `json:"requestParameters"`
	ResponseElements    any            `json:"responseElements"`
	AdditionalEventData any            `json:"additionalEventData,omitempty"`
	ServiceEventDetails any            `json:"serviceEventDetails,omitempty"`
	RequestID           string         `json:"requestID,omitempty"`
	EventID             string         `json:"eventID"`
	ReadOnly            bool           `json:"readOnly"`
	Resources           []Resource     `json:"resources,omitempty"`
	EventType           string         `json:"eventType"`
	ManagementEvent     bool           `json:"managementEvent"`
	RecipientAccountID  string         `json:"recipientAccountId"`
	EventCategory       string         `json:"eventCategory"`
	TLSDetails          *TLSDetails    `json:"tlsDetails,omitempty"`
	Authorization       *Authorization `json:"custosAuthorization,omitempty"`
	Findings            []Finding      `json:"custosFindings,omitempty"`
}

// UserIdentity is CloudTrail's userIdentity. For an AwsServiceEvent only
// AccountID and InvokedBy ("kms.amazonaws.com") are set.
type UserIdentity struct {
	Type           string          `json:"type,omitempty"` // "Root", "IAMUser", "AssumedRole", ...
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
	InvokedBy      string          `json:"invokedBy,omitempty"`
}

// SessionContext is CloudTrail's userIdentity.sessionContext of temporary
// credentials.
type SessionContext struct {
	SessionIssuer  *SessionIssuer `json:"sessionIssuer,omitempty"`
	Attributes     SessionAttrs   `json:"attributes"`
	SourceIdentity string         `json:"sourceIdentity,omitempty"`
}

// SessionIssuer is the role or user that issued the session.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// SessionAttrs are CloudTrail's session attributes; both are strings there
// ("2026-11-27T07:00:00Z", "false").
type SessionAttrs struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// Resource is one entry of resources: {"accountId","type","ARN"}.
type Resource struct {
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
	ARN       string `json:"ARN"`
}

// TLSDetails is CloudTrail's tlsDetails.
type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

// Authorization records what decided a request: Decision is "Allow" or
// "Deny", Reason a human sentence, Statements the policy statements or grants
// (ids or ARNs) that decided.
type Authorization struct {
	Decision   string   `json:"decision"`
	Reason     string   `json:"reason,omitempty"`
	Statements []string `json:"statements,omitempty"`
}

// cryptoOps are the operations GetKeyLastUsage counts.
var cryptoOps = map[string]bool{
	"Decrypt": true, "DeriveSharedSecret": true, "Encrypt": true,
	"GenerateDataKey": true, "GenerateDataKeyWithoutPlaintext": true,
	"GenerateDataKeyPair": true, "GenerateDataKeyPairWithoutPlaintext": true,
	"GenerateMac": true, "ReEncrypt": true, "Sign": true, "Verify": true, "VerifyMac": true,
}

// IsCryptoOperation reports whether name is a cryptographic operation whose
// success counts as use of a key for GetKeyLastUsage.
func IsCryptoOperation(name string) bool { return cryptoOps[name] }

// usageKeys returns the key ARNs whose last usage a successful crypto event
// sets, or nil.
func usageKeys(eventSource, eventName, errorCode string, res []Resource) []string {
	if errorCode != "" || eventSource != EventSourceKMS || !cryptoOps[eventName] {
		return nil
	}
	var out []string
	for _, r := range res {
		if r.Type == ResourceTypeKey && r.ARN != "" {
			out = append(out, r.ARN)
		}
	}
	return out
}

// Username returns the name CloudTrail's LookupEvents shows for an identity:
// the user name, "root" for the account root, or the session name of an
// assumed role.
func (u UserIdentity) Username() string {
	switch {
	case u.UserName != "":
		return u.UserName
	case u.Type == "Root":
		return "root"
	case u.Type == "AssumedRole":
		if i := strings.LastIndexByte(u.ARN, '/'); i >= 0 {
			return u.ARN[i+1:]
		}
	}
	return ""
}

// NewEventID returns a random (version 4) UUID for Event.EventID.
func NewEventID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	hex.Encode(s[9:13], b[4:6])
	hex.Encode(s[14:18], b[6:8])
	hex.Encode(s[19:23], b[8:10])
	hex.Encode(s[24:36], b[10:16])
	s[8], s[13], s[18], s[23] = '-', '-', '-', '-'
	return string(s[:])
}

// fillDefaults sets the fields Append fills when empty and normalizes
// EventTime to UTC whole seconds.
func (e *Event) fillDefaults(now func() time.Time) {
	if e.EventVersion == "" {
		e.EventVersion = EventVersion
	}
	if e.EventTime.IsZero() {
		e.EventTime = now()
	}
	e.EventTime = e.EventTime.UTC().Truncate(time.Second)
	if e.EventSource == "" {
		e.EventSource = EventSourceKMS
	}
	if e.EventType == "" {
		e.EventType = EventTypeAPI
	}
	if e.EventCategory == "" {
		e.EventCategory = CategoryMgmt
	}
	if e.EventID == "" {
		e.EventID = NewEventID()
	}
	if e.RecipientAccountID == "" {
		e.RecipientAccountID = e.UserIdentity.AccountID
	}
	e.ManagementEvent = true
}
