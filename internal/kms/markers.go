package kms

import (
	"encoding/base64"

	"github.com/custoskms/custos/internal/awsproto"
)

// Markers are opaque to clients: the position after which the next page
// starts, in URL-safe base64.

func encodeMarker(after string) string { return base64.RawURLEncoding.EncodeToString([]byte(after)) }

func decodeMarker(m string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || len(b) == 0 {
		return "", awsproto.Errorf("InvalidMarkerException", "The marker that specifies where pagination should next begin is not valid.")
	}
	return string(b), nil
}

func validMarker(m string) bool {
	for i := 0; i < len(m); i++ {
		if m[i] < 0x20 {
			return false
		}
	}
	return true
}
