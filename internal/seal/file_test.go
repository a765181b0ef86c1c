package seal

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestOpenFileCreatesOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "custos")
	key, created, err := OpenFile(dir)
	if err != nil || !created || len(key) != 32 {
		t.Fatalf("OpenFile(new dir) = %d bytes, %v, %v; want 32 bytes, true, nil", len(key), created, err)
	}
	if bytes.Equal(key, make([]byte, 32)) {
		t.Errorf("OpenFile(new dir) returned an all-zero key")
	}
	fi, err := os.Stat(filepath.Join(dir, "root.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("root.key mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	di, err := os.Stat(dir)
	if err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode = %v, %v; want 0700", di.Mode().Perm(), err)
	}

	again, created, err := OpenFile(dir)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("OpenFile(existing) = created %v, %v, same key %v; want false, nil, true", created, err, bytes.Equal(again, key))
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "root.key" {
		t.Errorf("directory holds %v, %v; want only root.key", entries, err)
	}
}

func TestOpenFileExistingDirKeepsMode(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenFile(dir); err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o750 {
		t.Errorf("existing directory mode changed to %v", di.Mode().Perm())
	}
}

func TestOpenFileRejects(t *testing.T) {
	secretish := strings.Repeat("S", 40)
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string
	}{
		{"empty", "", 0o600, "0 bytes, want 32"},
		{"31 bytes", strings.Repeat("k", 31), 0o600, "31 bytes, want 32"},
		{"33 bytes", strings.Repeat("k", 33), 0o600, "33 bytes, want 32"},
		{"40 bytes", secretish, 0o600, "40 bytes, want 32"},
		{"group readable", strings.Repeat("k", 32), 0o640, "mode 0640"},
		{"world readable", strings.Repeat("k", 32), 0o604, "mode 0604"},
		{"0644", strings.Repeat("k", 32), 0o644, "mode 0644"},
		{"owner executable", strings.Repeat("k", 32), 0o700, "mode 0700"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		path := filepath.Join(dir, "root.key")
		if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		key, created, err := OpenFile(dir)
		if err == nil || key != nil || created {
			t.Errorf("%s: OpenFile = %d bytes, %v, %v; want error", tt.name, len(key), created, err)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "seal: root.key") || !strings.Contains(msg, tt.wantErr) {
			t.Errorf("%s: OpenFile error = %q, want prefix %q containing %q", tt.name, msg, "seal: root.key", tt.wantErr)
		}
		if strings.Contains(msg, "kkkk") || strings.Contains(msg, "SSSS") {
			t.Errorf("%s: OpenFile error %q contains key bytes", tt.name, msg)
		}
		if got, _ := os.ReadFile(path); string(got) != tt.content {
			t.Errorf("%s: OpenFile changed the rejected file", tt.name)
		}
	}
}

func TestOpenFileAcceptsReadOnly(t *testing.T) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte{7}, 32)
	path := filepath.Join(dir, "root.key")
	if err := os.WriteFile(path, want, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	key, created, err := OpenFile(dir)
	if err != nil || created || !bytes.Equal(key, want) {
		t.Errorf("OpenFile(0400 key) = %x, %v, %v; want %x, false, nil", key, created, err, want)
	}
}

func TestOpenFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "root.key"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenFile(dir); err == nil || !strings.HasPrefix(err.Error(), "seal: root.key") {
		t.Errorf("OpenFile(root.key is a directory) = %v, want a seal: root.key error", err)
	}
}

func TestOpenFileDirIsFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenFile(file); err == nil {
		t.Errorf("OpenFile(a regular file as dir) = nil error, want error")
	}
}

func TestOpenFileConcurrentFirstStart(t *testing.T) {
	for round := range 20 {
		dir := filepath.Join(t.TempDir(), "d")
		const n = 8
		keys := make([][]byte, n)
		createdBy := make([]bool, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { keys[i], createdBy[i], errs[i] = OpenFile(dir) })
		}
		wg.Wait()
		creators := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d: OpenFile #%d: %v", round, i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d: OpenFile #%d returned a different key than #0", round, i)
			}
			if createdBy[i] {
				creators++
			}
		}
		if creators != 1 {
			t.Fatalf("round %d: %d callers report created, want 1", round, creators)
		}
		onDisk, err := os.ReadFile(filepath.Join(dir, "root.key"))
		if err != nil || !bytes.Equal(onDisk, keys[0]) {
			t.Fatalf("round %d: root.key on disk differs from the returned key (%v)", round, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("round %d: directory holds %d entries, want only root.key", round, len(entries))
		}
	}
}
