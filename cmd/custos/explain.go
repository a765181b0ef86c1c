package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/custoskms/custos/internal/sigv4"
)

// explainTarget is the X-Amz-Target of the server's Explain operation.
const explainTarget = "CustosService.Explain"

// pairs is a repeatable key=value flag.
type pairs struct {
	keys, values []string
}

func (p *pairs) String() string { return "" }

func (p *pairs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return errors.New("want key=value")
	}
	p.keys = append(p.keys, k)
	p.values = append(p.values, v)
	return nil
}

// explainReply is the part of Explain's reply the command prints.
type explainReply struct {
	PrincipalArn string
	Action       string
	Decision     string
	Reason       string
	Message      string
	AuditReason  string
	Resource     string
	KeyState     string
	StateError   string
	Policies     []struct {
		Type       string
		Id         string
		Statements []struct {
			Index    int
			Sid      string
			Effect   string
			Applied  bool
			Deciding bool
			Reason   string
		}
	}
}

// runExplain asks a server how it would decide a KMS request of a
// principal, and prints the decision and every statement's part in it.
// The exit status is 0 whatever the decision; 1 when the server could not
// answer.
func runExplain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "http://127.0.0.1:4599", "server URL")
	region := fs.String("region", envOr("AWS_REGION", "us-east-1"), "region to sign for; the explained request's region unless --request-region is given (env AWS_REGION)")
	requestRegion := fs.String("request-region", "", "region of the explained request (default: --region)")
	accessKeyID := fs.String("access-key-id", envOr("AWS_ACCESS_KEY_ID", ""), "access key id (env AWS_ACCESS_KEY_ID)")
	secret := fs.String("secret-access-key", envOr("AWS_SECRET_ACCESS_KEY", ""), "secret access key (env AWS_SECRET_ACCESS_KEY)")
	token := fs.String("session-token", envOr("AWS_SESSION_TOKEN", ""), "session token of temporary credentials (env AWS_SESSION_TOKEN)")
	principal := fs.String("principal", "", "ARN of the root, user, role or assumed-role session whose request is explained")
	action := fs.String("action", "", "the KMS action, e.g. kms:Decrypt")
	keyID := fs.String("key-id", "", "key id, key ARN, alias name or alias ARN (not needed for actions on no key)")
	insecure := fs.Bool("insecure", false, "skip TLS certificate verification")
	asJSON := fs.Bool("json", false, "print the server's reply as JSON")
	var ec, conditions pairs
	fs.Var(&ec, "context", "encryption context pair key=value (repeatable)")
	fs.Var(&conditions, "condition", "condition key to set, key=value (repeatable; repeat a key for several values), e.g. aws:SourceIp=10.0.0.1")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	switch {
	case *principal == "" || *action == "":
		fmt.Fprintln(stderr, "custos explain: --principal and --action are required")
		return errUsage
	case *accessKeyID == "" || *secret == "":
		fmt.Fprintln(stderr, "custos explain: credentials needed: --access-key-id and --secret-access-key (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)")
		return errUsage
	}

	in := map[string]any{"PrincipalArn": *principal, "Action": *action}
	if *keyID != "" {
		in["KeyId"] = *keyID
	}
	if *requestRegion != "" {
		in["Region"] = *requestRegion
	}
	if len(ec.keys) > 0 {
		m := map[string]string{}
		for i, k := range ec.keys {
			m[k] = ec.values[i]
		}
		in["EncryptionContext"] = m
	}
	if len(conditions.keys) > 0 {
		m := map[string][]string{}
		for i, k := range conditions.keys {
			m[k] = append(m[k], conditions.values[i])
		}
		in["ContextEntries"] = m
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(*endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(stderr, "custos explain: bad --endpoint: %v\n", err)
		return errUsage
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", explainTarget)
	sigv4.Sign(req, body, *accessKeyID, []byte(*secret), *token, *region, "kms", time.Now())
	client := &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		// InsecureSkipVerify is the caller's explicit choice, for servers
		// with self-signed certificates.
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: *insecure},
	}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("explain: read the reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(reply, &e) != nil || e.Type == "" {
			return fmt.Errorf("explain: HTTP %d from the server", resp.StatusCode)
		}
		return &exitError{status: 1, msg: "explain: " + e.Type + ": " + e.Message}
	}
	if *asJSON {
		var out bytes.Buffer
		if err := json.Indent(&out, reply, "", "  "); err != nil {
			return fmt.Errorf("explain: the reply is not JSON: %w", err)
		}
		out.WriteByte('\n')
		_, err := stdout.Write(out.Bytes())
		return err
	}
	var r explainReply
	if err := json.Unmarshal(reply, &r); err != nil {
		return fmt.Errorf("explain: the reply is not Explain's: %w", err)
	}
	return printExplanation(stdout, &r)
}

// printExplanation writes the decision and a table of every statement.
func printExplanation(w io.Writer, r *explainReply) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Decision:  %s\n", r.Decision)
	fmt.Fprintf(&b, "Principal: %s\n", r.PrincipalArn)
	fmt.Fprintf(&b, "Action:    %s\n", r.Action)
	fmt.Fprintf(&b, "Resource:  %s\n", r.Resource)
	fmt.Fprintf(&b, "Reason:    %s\n", r.Reason)
	if r.Message != "" {
		fmt.Fprintf(&b, "Message:   %s\n", r.Message)
	}
	if r.KeyState != "" {
		fmt.Fprintf(&b, "KeyState:  %s\n", r.KeyState)
	}
	if r.StateError != "" {
		fmt.Fprintf(&b, "Refused:   %s (the key's state refuses the call, whatever the policies decide)\n", r.StateError)
	}
	b.WriteByte('\n')
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POLICY\tID\t#\tSID\tEFFECT\tAPPLIED\tWHY")
	for _, p := range r.Policies {
		if len(p.Statements) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t(statements not shown: another account's policy)\n", p.Type, p.Id)
		}
		for _, s := range p.Statements {
			applied := "no"
			if s.Applied {
				applied = "yes"
			}
			if s.Deciding {
				applied += " (deciding)"
			}
			sid := s.Sid
			if sid == "" {
				sid = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Type, p.Id, strconv.Itoa(s.Index), oneLine(sid), s.Effect, applied, oneLine(s.Reason))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(s)
}
