package awsproto

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
)

// ContentTypeXML is the media type of Query-protocol replies.
const ContentTypeXML = "text/xml"

// QueryResponse is a Query-protocol (IAM, STS) reply: it is written as
// <ActionResponse xmlns="Namespace"><ActionResult>Result</ActionResult>
// <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata>
// </ActionResponse>. A nil Result writes no ActionResult element.
type QueryResponse struct {
	Action    string
	Namespace string
	Result    any // a struct whose fields carry `xml` tags
}

// WriteXML writes a 200 Query-protocol reply. out must be a *QueryResponse.
func WriteXML(w http.ResponseWriter, requestID string, out any) error {
	qr, ok := out.(*QueryResponse)
	if !ok {
		return Errorf("InternalFailure", "awsproto: a Query reply must be a *QueryResponse")
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	resp := xml.StartElement{Name: xml.Name{Local: qr.Action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: qr.Namespace}}}
	if err := enc.EncodeToken(resp); err != nil {
		return err
	}
	if qr.Result != nil {
		if err := enc.EncodeElement(qr.Result, xml.StartElement{Name: xml.Name{Local: qr.Action + "Result"}}); err != nil {
			return err
		}
	}
	meta := struct {
		RequestID string `xml:"RequestId"`
	}{requestID}
	if err := enc.EncodeElement(meta, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return err
	}
	if err := enc.EncodeToken(resp.End()); err != nil {
		return err
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	writeBody(w, requestID, ContentTypeXML, http.StatusOK, buf.Bytes())
	return nil
}

// queryCodes translates the JSON protocols' names of the common errors into
// the names the Query protocol uses for them, with their status.
var queryCodes = map[string]struct {
	code   string
	status int
}{
	"UnrecognizedClientException":         {"InvalidClientTokenId", http.StatusForbidden},
	"InvalidSignatureException":           {"SignatureDoesNotMatch", http.StatusForbidden},
	"IncompleteSignatureException":        {"IncompleteSignature", http.StatusBadRequest},
	"MissingAuthenticationTokenException": {"MissingAuthenticationToken", http.StatusForbidden},
	"UnknownOperationException":           {"InvalidAction", http.StatusBadRequest},
	"SerializationException":              {"MalformedQueryString", http.StatusBadRequest},
	"ValidationException":                 {"ValidationError", http.StatusBadRequest},
	"KMSInternalException":                {"ServiceFailure", http.StatusInternalServerError},
	"RequestEntityTooLargeException":      {"RequestEntityTooLarge", http.StatusRequestEntityTooLarge},
	"DependencyTimeoutException":          {"ServiceUnavailable", http.StatusServiceUnavailable},
}

// WriteXMLError writes e in the Query protocol's error shape:
// <ErrorResponse xmlns="namespace"><Error><Type>Sender</Type><Code>...</Code>
// <Message>...</Message></Error><RequestId>...</RequestId></ErrorResponse>.
func WriteXMLError(w http.ResponseWriter, requestID, namespace string, e *Error) {
	code, status := e.Code, e.Status
	if q, ok := queryCodes[code]; ok {
		code, status = q.code, q.status
	}
	if status == 0 {
		status = http.StatusBadRequest
	}
	kind := "Sender"
	if status >= 500 {
		kind = "Receiver"
	}
	body := struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Xmlns   string   `xml:"xmlns,attr,omitempty"`
		Error   struct {
			Type    string
			Code    string
			Message string
		}
		RequestID string `xml:"RequestId"`
	}{Xmlns: namespace, RequestID: requestID}
	body.Error.Type, body.Error.Code, body.Error.Message = kind, code, e.Message
	b, err := xml.Marshal(body)
	if err != nil {
		b = []byte("<ErrorResponse><Error><Code>InternalFailure</Code></Error></ErrorResponse>")
		status = http.StatusInternalServerError
	}
	writeBody(w, requestID, ContentTypeXML, status, append([]byte(xml.Header), b...))
}

// contentTypes are shared header values: net/http only reads them.
var contentTypes = map[string][]string{ContentTypeJSON: {ContentTypeJSON}, ContentTypeXML: {ContentTypeXML}}

func writeBody(w http.ResponseWriter, requestID, contentType string, status int, body []byte) {
	h := w.Header()
	if ct, ok := contentTypes[contentType]; ok {
		h["Content-Type"] = ct
	} else {
		h["Content-Type"] = []string{contentType}
	}
	h["X-Amzn-Requestid"] = []string{requestID}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body)
}
