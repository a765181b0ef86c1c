package policy

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// The policy document is first read into a small JSON tree that keeps the
// order of object members and the literal text of numbers, so that validation
// can say exactly which element is wrong.

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

func (k jsonKind) String() string {
	return [...]string{"null", "a boolean", "a number", "a string", "an array", "an object"}[k]
}

type jsonValue struct {
	kind jsonKind
	text string // string value, number literal, or "true"/"false"
	arr  []jsonValue
	obj  []jsonMember
}

type jsonMember struct {
	name  string
	value jsonValue
}

// maxJSONDepth bounds nesting: the deepest legal policy element (a condition
// value list) is at depth 6.
const maxJSONDepth = 16

var errTooDeep = errors.New("JSON nested too deeply")

// parseJSON reads one JSON value that must make up all of doc. When an object
// repeats a member name, the last one wins, as in the JSON parsers AWS is
// observed to use (two "StringEquals" blocks in one Condition: only the
// second counts). UNCERTAIN: some AWS validators may reject duplicates.
func parseJSON(doc string) (jsonValue, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	v, err := readJSON(dec, 0)
	if err != nil {
		return jsonValue{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jsonValue{}, errors.New("unexpected data after the top-level JSON value")
	}
	return v, nil
}

func readJSON(dec *json.Decoder, depth int) (jsonValue, error) {
	if depth > maxJSONDepth {
		return jsonValue{}, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return jsonValue{}, io.ErrUnexpectedEOF
		}
		return jsonValue{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			v := jsonValue{kind: jsonObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return jsonValue{}, err
				}
				name, _ := kt.(string)
				val, err := readJSON(dec, depth+1)
				if err != nil {
					return jsonValue{}, err
				}
				replaced := false
				for i := range v.obj {
					if v.obj[i].name == name {
						v.obj[i].value, replaced = val, true
						break
					}
				}
				if !replaced {
					v.obj = append(v.obj, jsonMember{name, val})
				}
			}
			if _, err := dec.Token(); err != nil {
				return jsonValue{}, err
			}
			return v, nil
		case '[':
			v := jsonValue{kind: jsonArray, arr: []jsonValue{}}
			for dec.More() {
				val, err := readJSON(dec, depth+1)
				if err != nil {
					return jsonValue{}, err
				}
				v.arr = append(v.arr, val)
			}
			if _, err := dec.Token(); err != nil {
				return jsonValue{}, err
			}
			return v, nil
		}
		return jsonValue{}, errors.New("unexpected " + t.String())
	case string:
		return jsonValue{kind: jsonString, text: t}, nil
	case json.Number:
		return jsonValue{kind: jsonNumber, text: t.String()}, nil
	case bool:
		if t {
			return jsonValue{kind: jsonBool, text: "true"}, nil
		}
		return jsonValue{kind: jsonBool, text: "false"}, nil
	case nil:
		return jsonValue{kind: jsonNull}, nil
	}
	return jsonValue{}, errors.New("unexpected JSON token")
}
