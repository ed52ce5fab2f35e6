package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSearchFilesFindsPlaintext shows the demo's ciphertext check is not
// vacuous: a secret anywhere in any file under the root, nested or not, is
// reported with the file it is in, and a tree without it passes.
func TestSearchFilesFindsPlaintext(t *testing.T) {
	root := t.TempDir()
	write := func(rel string, data []byte) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a/store/000001.vlog", []byte{0x13, 0xf7, 0xec, 0x2b, 0x80})
	write("b/keystore", []byte("sealed"))
	secrets := []string{demoGroupName, demoWrenName}

	files, size, found, err := searchFiles(root, secrets)
	if err != nil {
		t.Fatal(err)
	}
	if files != 2 || size != 11 || len(found) != 0 {
		t.Fatalf("clean tree: %d files, %d bytes, found %q; want 2 files, 11 bytes, nothing", files, size, found)
	}

	write("b/store/000003.sst", append([]byte{0, 1, 2}, demoWrenName+"\x00"...))
	_, _, found, err = searchFiles(root, secrets)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || !strings.Contains(found[0], demoWrenName) || !strings.Contains(found[0], filepath.Join("b", "store", "000003.sst")) {
		t.Fatalf("found %q, want the pseudonym in b/store/000003.sst", found)
	}
}
