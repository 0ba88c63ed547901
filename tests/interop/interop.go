// SPDX-License-Identifier: Apache-2.0

// Command tlog-interop checks custos's audit log against an independent implementation,
// Go's golang.org/x/mod/sumdb/note and sumdb/tlog (issue 4), in both directions. run.sh
// builds it offline (GOPATH mode over Debian's golang-golang-x-mod-dev) and runs it.
//
// For several random trees (seeded; the seed is printed) it builds a custos log database
// (tlog_fill for batches, `custos log append` for some single entries), keeps its own copy
// of the tree with tlog.StoredHashes, and checks:
//
//   - custos → Go: every checkpoint (`custos log checkpoint`) opens with note.Open under the
//     verifier key `custos log keygen` printed, and carries the root tlog.TreeHash gives over
//     tlog.RecordHash of the same entries; Go re-signing its text with custos's signer key
//     gives the same bytes (Ed25519 is deterministic). Inclusion and consistency proofs
//     (`custos log prove … --json`) pass tlog.CheckRecord / tlog.CheckTree (also from the
//     checkpoints' own sizes and roots) and equal tlog.ProveRecord / tlog.ProveTree.
//     tlog-proof receipts (`prove inclusion --checkpoint`) open and check the same way. The
//     tlog-tiles export holds exactly the tiles and bundles of the tree, byte-equal to
//     tlog.ReadTileData, and tlog.TileHashReader authenticates them against the checkpoint.
//   - Go → custos: notes signed by note.Sign with keys from note.GenerateKey (C2SP-style and
//     sumdb-style checkpoint texts, one or two signers) pass `custos log verify checkpoint`;
//     tampered copies (size, root, signature byte, added line, other key) are rejected.
//     Proofs made by tlog.ProveRecord / ProveTree pass `custos log verify inclusion|
//     consistency`, damaged ones are rejected; receipts Go assembles pass `verify receipt`.
//
// Conventions that differ on purpose: x/mod's TreeHash(0) is 32 zero bytes, C2SP and RFC 9162
// use SHA-256("") for the empty tree (FORMATS pitfall 1); custos follows C2SP, and this test
// checks that. Exit status: 0 all good, 1 any failure (the seed is printed again).
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var (
	custosBin = flag.String("custos", "", "the custos CLI")
	fillBin   = flag.String("fill", "", "the tlog_fill helper")
	workDir   = flag.String("work", "", "a scratch directory")
	seed      = flag.Int64("seed", 4242, "seed of the random trees")
	nTrees    = flag.Int("trees", 6, "number of random trees")
	maxSize   = flag.Int64("max", 4000, "largest random tree")

	rng      *rand.Rand
	failures int
	counts   = map[string]int{}
)

func failf(format string, args ...interface{}) {
	failures++
	fmt.Fprintf(os.Stderr, "FAIL: %s\n", fmt.Sprintf(format, args...))
}

func fatalf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FATAL: %s (seed %d)\n", fmt.Sprintf(format, args...), *seed)
	os.Exit(1)
}

// ---- running custos ----------------------------------------------------------------

type result struct {
	out    []byte
	stderr string
	code   int
}

func run(bin string, stdin []byte, args ...string) result {
	cmd := exec.Command(bin, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			fatalf("%s: %v", bin, err)
		}
		code = ee.ExitCode()
	}
	counts["processes"]++
	return result{o.Bytes(), e.String(), code}
}

func custos(stdin []byte, args ...string) result {
	return run(*custosBin, stdin, append([]string{"log"}, args...)...)
}

// mustCustos runs custos and reports a failure unless it exits 0.
func mustCustos(stdin []byte, args ...string) ([]byte, bool) {
	r := custos(stdin, args...)
	if r.code != 0 {
		failf("custos log %s: exit %d: %s", strings.Join(args, " "), r.code, strings.TrimSpace(r.stderr))
		return nil, false
	}
	return r.out, true
}

// mustReject runs custos and reports a failure unless it exits 1 (rejected: not 2, a usage
// or I/O error, which would mean the test asked the wrong question).
func mustReject(what string, stdin []byte, args ...string) {
	r := custos(stdin, args...)
	counts["rejections"]++
	if r.code != 1 {
		failf("%s: custos log %s: exit %d, want 1 (rejected); stdout %q stderr %q", what,
			strings.Join(args, " "), r.code, r.out, r.stderr)
	}
}

// ---- the Go side's copy of a tree ---------------------------------------------------

type model struct {
	entries [][]byte
	stored  []tlog.Hash // x/mod's stored-hash layout
}

func (m *model) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m.stored)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = m.stored[x]
	}
	return out, nil
}

func (m *model) add(e []byte) {
	hs, err := tlog.StoredHashes(int64(len(m.entries)), e, m)
	if err != nil {
		fatalf("StoredHashes: %v", err)
	}
	m.stored = append(m.stored, hs...)
	m.entries = append(m.entries, e)
}

// root of the first n entries; the empty tree is SHA-256("") (C2SP, RFC 9162), not x/mod's zeros.
func (m *model) root(n int64) tlog.Hash {
	if n == 0 {
		return tlog.Hash(sha256.Sum256(nil))
	}
	h, err := tlog.TreeHash(n, m)
	if err != nil {
		fatalf("TreeHash(%d): %v", n, err)
	}
	return h
}

func (m *model) size() int64 { return int64(len(m.entries)) }

func randomEntry(seq int) []byte {
	var n int
	switch k := rng.Intn(200); {
	case k < 110:
		n = 1 + rng.Intn(128)
	case k < 170: // what the broker will log: canonical JSON records
		return []byte(fmt.Sprintf(`{"decision":"allow","nonce":"%016x","seq":%d,"tee":"tdx"}`,
			rng.Uint64(), seq))
	case k < 198:
		n = 129 + rng.Intn(4000)
	case k < 199:
		n = 65535 // the largest entry a tlog-tiles bundle can hold
	default:
		n = 60000 + rng.Intn(5535)
	}
	b := make([]byte, n)
	rng.Read(b)
	return b
}

// bundle encodes entries as a tlog-tiles entry bundle (u16be length || bytes).
func bundle(entries [][]byte) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		var l [2]byte
		binary.BigEndian.PutUint16(l[:], uint16(len(e)))
		b.Write(l[:])
		b.Write(e)
	}
	return b.Bytes()
}

// ---- checkpoints -------------------------------------------------------------------

type checkpoint struct {
	size int64
	root tlog.Hash
	note []byte
	file string
}

// parseCheckpoint parses a C2SP tlog-checkpoint body strictly (tlog.ParseTree only takes the
// sumdb origin "go.sum database tree"). custos writes no extension lines.
func parseCheckpoint(text string) (origin string, n int64, h tlog.Hash, err error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 4 || lines[3] != "" || lines[0] == "" {
		return "", 0, h, fmt.Errorf("not a 3-line checkpoint: %q", text)
	}
	n, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return "", 0, h, fmt.Errorf("bad size line %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize || base64.StdEncoding.EncodeToString(raw) != lines[2] {
		return "", 0, h, fmt.Errorf("bad root line %q", lines[2])
	}
	copy(h[:], raw)
	return lines[0], n, h, nil
}

type tree struct {
	id       int
	name     string
	dir      string
	db       string
	skeyFile string
	vkey     string
	verifier note.Verifier
	signer   note.Signer
	m        model
	cps      []checkpoint
}

func (t *tree) path(name string) string { return filepath.Join(t.dir, name) }

func writeFile(path string, data []byte) {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		fatalf("%v", err)
	}
}

func (t *tree) keygen() {
	out, ok := mustCustos(nil, "keygen", "--name", t.name)
	if !ok {
		fatalf("keygen failed")
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 2 {
		fatalf("keygen printed %q", out)
	}
	skey, vkey := lines[0], lines[1]
	var err error
	if t.verifier, err = note.NewVerifier(vkey); err != nil {
		fatalf("x/mod rejects custos's verifier key %q: %v", vkey, err)
	}
	if t.signer, err = note.NewSigner(skey); err != nil {
		fatalf("x/mod rejects custos's signer key: %v", err)
	}
	if t.signer.Name() != t.name || t.verifier.Name() != t.name || t.signer.KeyHash() != t.verifier.KeyHash() {
		failf("keygen: signer %s/%08x, verifier %s/%08x", t.signer.Name(), t.signer.KeyHash(),
			t.verifier.Name(), t.verifier.KeyHash())
	}
	t.vkey = vkey
	t.skeyFile = t.path("signer.key")
	writeFile(t.skeyFile, []byte(skey+"\n"))
}

// checkpoint has custos sign one and checks it the way a Go client would.
func (t *tree) checkpoint() {
	msg, ok := mustCustos(nil, "checkpoint", "--db", t.db, "--key", t.skeyFile)
	if !ok {
		return
	}
	counts["checkpoints"]++
	n, err := note.Open(msg, note.VerifierList(t.verifier))
	if err != nil {
		failf("tree %d: note.Open of custos's checkpoint: %v\n%s", t.id, err, msg)
		return
	}
	if len(n.Sigs) != 1 || n.Sigs[0].Name != t.name || n.Sigs[0].Hash != t.verifier.KeyHash() ||
		len(n.UnverifiedSigs) != 0 {
		failf("tree %d: checkpoint signatures %+v / %+v", t.id, n.Sigs, n.UnverifiedSigs)
	}
	origin, size, root, err := parseCheckpoint(n.Text)
	if err != nil {
		failf("tree %d: %v", t.id, err)
		return
	}
	if origin != t.name || size != t.m.size() || root != t.m.root(size) {
		failf("tree %d: checkpoint (%s, %d, %s), want (%s, %d, %s)", t.id, origin, size, root,
			t.name, t.m.size(), t.m.root(t.m.size()))
	}
	again, err := note.Sign(&note.Note{Text: n.Text}, t.signer)
	if err != nil || !bytes.Equal(again, msg) {
		failf("tree %d: x/mod signing the same text with custos's key gives\n%s\nnot\n%s", t.id, again, msg)
	}
	cp := checkpoint{size: size, root: root, note: msg, file: t.path(fmt.Sprintf("checkpoint-%d", size))}
	writeFile(cp.file, msg)
	t.cps = append(t.cps, cp)
}

// grow appends entries up to size: most through tlog_fill, the last few through the CLI.
func (t *tree) grow(size int64) {
	count := size - t.m.size()
	viaCLI := int64(rng.Intn(3))
	if viaCLI > count {
		viaCLI = count
	}
	var batch [][]byte
	for i := int64(0); i < count-viaCLI; i++ {
		batch = append(batch, randomEntry(int(t.m.size())+len(batch)))
	}
	if len(batch) > 0 {
		file := t.path("batch.bundle")
		writeFile(file, bundle(batch))
		r := run(*fillBin, nil, t.db, file)
		want := fmt.Sprintf("%d %d\n", t.m.size(), t.m.size()+int64(len(batch)))
		if r.code != 0 || string(r.out) != want {
			fatalf("tlog_fill: exit %d, printed %q, want %q: %s", r.code, r.out, want, r.stderr)
		}
		for _, e := range batch {
			t.m.add(e)
		}
	}
	for i := int64(0); i < viaCLI; i++ {
		e := randomEntry(int(t.m.size()))
		var out []byte
		var ok bool
		if i%2 == 0 {
			file := t.path("entry")
			writeFile(file, e)
			out, ok = mustCustos(nil, "append", "--db", t.db, "--entry", file)
		} else {
			out, ok = mustCustos(e, "append", "--db", t.db, "--entry", "-")
		}
		if !ok {
			fatalf("append failed")
		}
		if want := fmt.Sprintf("%d\n", t.m.size()); string(out) != want {
			failf("tree %d: custos log append printed %q, want %q", t.id, out, want)
		}
		t.m.add(e)
		counts["cli appends"]++
	}
}

func (t *tree) checkpointAt(size int64) *checkpoint {
	for i := range t.cps {
		if t.cps[i].size == size {
			return &t.cps[i]
		}
	}
	return nil
}

// ---- proofs: custos → Go ------------------------------------------------------------

func hash32(what, s string) (tlog.Hash, error) {
	var h tlog.Hash
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != tlog.HashSize || strings.ToLower(s) != s {
		return h, fmt.Errorf("%s: %q is not 64 lowercase hex digits", what, s)
	}
	copy(h[:], raw)
	return h, nil
}

func hashes(what string, list []string) ([]tlog.Hash, error) {
	if list == nil {
		return nil, fmt.Errorf("%s: missing", what)
	}
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		h, err := hash32(what, s)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func decodeStrict(data []byte, v interface{}) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

type inclusionJSON struct {
	Index    *int64   `json:"index"`
	Size     *int64   `json:"size"`
	LeafHash string   `json:"leaf_hash"`
	Proof    []string `json:"proof"`
	Root     string   `json:"root"`
}

type consistencyJSON struct {
	OldSize *int64   `json:"old_size"`
	NewSize *int64   `json:"new_size"`
	OldRoot string   `json:"old_root"`
	NewRoot string   `json:"new_root"`
	Proof   []string `json:"proof"`
}

func sameHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// damaged returns a copy of p with one bit flipped (p non-empty).
func damaged(p []tlog.Hash) []tlog.Hash {
	q := append([]tlog.Hash(nil), p...)
	i := rng.Intn(len(q))
	q[i][rng.Intn(tlog.HashSize)] ^= 1 << uint(rng.Intn(8))
	return q
}

func (t *tree) checkInclusion(index, size int64, useDefaultSize bool) {
	args := []string{"prove", "inclusion", "--db", t.db, "--index", strconv.FormatInt(index, 10), "--json"}
	if !useDefaultSize {
		args = append(args, "--size", strconv.FormatInt(size, 10))
	}
	out, ok := mustCustos(nil, args...)
	if !ok {
		return
	}
	counts["inclusion proofs"]++
	var j inclusionJSON
	if err := decodeStrict(out, &j); err != nil || j.Index == nil || j.Size == nil {
		failf("tree %d: inclusion JSON %q: %v", t.id, out, err)
		return
	}
	leaf, err1 := hash32("leaf_hash", j.LeafHash)
	root, err2 := hash32("root", j.Root)
	proof, err3 := hashes("proof", j.Proof)
	if err := firstErr(err1, err2, err3); err != nil {
		failf("tree %d: inclusion (%d, %d): %v", t.id, index, size, err)
		return
	}
	if *j.Index != index || *j.Size != size {
		failf("tree %d: inclusion JSON says (%d, %d), asked (%d, %d)", t.id, *j.Index, *j.Size, index, size)
	}
	if leaf != tlog.RecordHash(t.m.entries[index]) {
		failf("tree %d: leaf hash of %d is %s, tlog.RecordHash gives %s", t.id, index, leaf,
			tlog.RecordHash(t.m.entries[index]))
	}
	if want := t.m.root(size); root != want {
		failf("tree %d: root of size %d is %s, tlog.TreeHash gives %s", t.id, size, root, want)
	}
	if err := tlog.CheckRecord(proof, size, root, index, leaf); err != nil {
		failf("tree %d: tlog.CheckRecord(index %d, size %d): %v", t.id, index, size, err)
	}
	if cp := t.checkpointAt(size); cp != nil {
		counts["inclusion proofs against a checkpoint"]++
		if err := tlog.CheckRecord(proof, cp.size, cp.root, index, tlog.RecordHash(t.m.entries[index])); err != nil {
			failf("tree %d: inclusion of %d in checkpoint %d: %v", t.id, index, size, err)
		}
	}
	if goProof, err := tlog.ProveRecord(size, index, &t.m); err != nil || !sameHashes(goProof, proof) {
		failf("tree %d: custos's inclusion proof (%d, %d) differs from tlog.ProveRecord (%v)", t.id, index, size, err)
	}
	if len(proof) > 0 && tlog.CheckRecord(damaged(proof), size, root, index, leaf) == nil {
		failf("tree %d: x/mod accepted a damaged proof: the oracle is blind", t.id)
	}
}

func (t *tree) checkConsistency(oldSize, newSize int64) {
	out, ok := mustCustos(nil, "prove", "consistency", "--db", t.db, "--old", strconv.FormatInt(oldSize, 10),
		"--new", strconv.FormatInt(newSize, 10), "--json")
	if !ok {
		return
	}
	counts["consistency proofs"]++
	var j consistencyJSON
	if err := decodeStrict(out, &j); err != nil || j.OldSize == nil || j.NewSize == nil {
		failf("tree %d: consistency JSON %q: %v", t.id, out, err)
		return
	}
	oldRoot, err1 := hash32("old_root", j.OldRoot)
	newRoot, err2 := hash32("new_root", j.NewRoot)
	proof, err3 := hashes("proof", j.Proof)
	if err := firstErr(err1, err2, err3); err != nil {
		failf("tree %d: consistency (%d, %d): %v", t.id, oldSize, newSize, err)
		return
	}
	if *j.OldSize != oldSize || *j.NewSize != newSize {
		failf("tree %d: consistency JSON says (%d, %d), asked (%d, %d)", t.id, *j.OldSize, *j.NewSize, oldSize, newSize)
	}
	if oldRoot != t.m.root(oldSize) || newRoot != t.m.root(newSize) {
		failf("tree %d: consistency (%d, %d): roots differ from tlog.TreeHash", t.id, oldSize, newSize)
	}
	if err := tlog.CheckTree(proof, newSize, newRoot, oldSize, oldRoot); err != nil {
		failf("tree %d: tlog.CheckTree(%d -> %d): %v", t.id, oldSize, newSize, err)
	}
	a, b := t.checkpointAt(oldSize), t.checkpointAt(newSize)
	if a != nil && b != nil { // what an auditor holding two signed checkpoints checks
		counts["consistency proofs between checkpoints"]++
		if err := tlog.CheckTree(proof, b.size, b.root, a.size, a.root); err != nil {
			failf("tree %d: checkpoints %d and %d: %v", t.id, oldSize, newSize, err)
		}
	}
	if goProof, err := tlog.ProveTree(newSize, oldSize, &t.m); err != nil || !sameHashes(goProof, proof) {
		failf("tree %d: custos's consistency proof (%d, %d) differs from tlog.ProveTree (%v)", t.id, oldSize, newSize, err)
	}
	if len(proof) > 0 && tlog.CheckTree(damaged(proof), newSize, newRoot, oldSize, oldRoot) == nil {
		failf("tree %d: x/mod accepted a damaged consistency proof", t.id)
	}
}

// parseReceipt splits a c2sp.org/tlog-proof@v1 receipt into index, proof and checkpoint note.
func parseReceipt(b []byte) (int64, []tlog.Hash, []byte, error) {
	i := bytes.Index(b, []byte("\n\n"))
	if i < 0 {
		return 0, nil, nil, errors.New("no blank line")
	}
	head, cp := strings.Split(string(b[:i]), "\n"), b[i+2:]
	if len(head) < 2 || head[0] != "c2sp.org/tlog-proof@v1" || !strings.HasPrefix(head[1], "index ") {
		return 0, nil, nil, fmt.Errorf("bad header %q", head)
	}
	index, err := strconv.ParseInt(strings.TrimPrefix(head[1], "index "), 10, 64)
	if err != nil {
		return 0, nil, nil, err
	}
	var proof []tlog.Hash
	for _, l := range head[2:] {
		raw, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(raw) != tlog.HashSize {
			return 0, nil, nil, fmt.Errorf("bad proof line %q", l)
		}
		var h tlog.Hash
		copy(h[:], raw)
		proof = append(proof, h)
	}
	return index, proof, cp, nil
}

// checkReceipt has custos make a tlog-proof receipt on checkpoint cp and opens it with x/mod.
func (t *tree) checkReceipt(index int64, cp *checkpoint, v note.Verifier) {
	out, ok := mustCustos(nil, "prove", "inclusion", "--db", t.db, "--index", strconv.FormatInt(index, 10),
		"--checkpoint", cp.file)
	if !ok {
		return
	}
	counts["receipts (custos-made)"]++
	gotIndex, proof, msg, err := parseReceipt(out)
	if err != nil {
		failf("tree %d: receipt: %v\n%s", t.id, err, out)
		return
	}
	if gotIndex != index || !bytes.Equal(msg, cp.note) {
		failf("tree %d: receipt for %d says index %d / carries another checkpoint", t.id, index, gotIndex)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		failf("tree %d: receipt checkpoint: %v", t.id, err)
		return
	}
	_, size, root, err := parseCheckpoint(n.Text)
	if err != nil || size != cp.size || root != cp.root {
		failf("tree %d: receipt checkpoint text: %v", t.id, err)
		return
	}
	if err := tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(t.m.entries[index])); err != nil {
		failf("tree %d: receipt for %d in %d: %v", t.id, index, size, err)
	}
}

// ---- tiles: custos → Go ------------------------------------------------------------

// c2spPath maps an x/mod tile to its C2SP tlog-tiles path: x/mod uses the sumdb layout
// "tile/8/<L>/<N>" and "tile/8/data/<N>"; C2SP drops the height and calls data "entries".
func c2spPath(tl tlog.Tile) string {
	p := tl.Path()
	if tl.L == -1 {
		return strings.Replace(p, "tile/8/data/", "tile/entries/", 1)
	}
	return strings.Replace(p, "tile/8/", "tile/", 1)
}

// dirTiles serves custos's exported tiles to tlog.TileHashReader.
type dirTiles struct{ dir string }

func (d dirTiles) Height() int { return 8 }
func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tl := range tiles {
		b, err := os.ReadFile(filepath.Join(d.dir, c2spPath(tl)))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
func (d dirTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func (t *tree) checkTiles(cp *checkpoint) {
	dir := t.path(fmt.Sprintf("tiles-%d", cp.size))
	if _, ok := mustCustos(nil, "tiles", "--db", t.db, "--out", dir, "--checkpoint", cp.file); !ok {
		return
	}
	n := cp.size
	want := map[string][]byte{"checkpoint": cp.note}
	for L := 0; n>>(8*uint(L)) > 0; L++ {
		count := n >> (8 * uint(L)) // hashes at tree level 8L
		for k := int64(0); k*256 < count; k++ {
			w := count - k*256
			if w > 256 {
				w = 256
			}
			tl := tlog.Tile{H: 8, L: L, N: k, W: int(w)}
			data, err := tlog.ReadTileData(tl, &t.m)
			if err != nil {
				fatalf("ReadTileData: %v", err)
			}
			want[c2spPath(tl)] = data
			if L == 0 {
				dt := tl
				dt.L = -1
				want[c2spPath(dt)] = bundle(t.m.entries[k*256 : k*256+w])

			}
		}
	}
	got := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got[rel] = true
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if w, ok := want[rel]; !ok {
			failf("tree %d: tiles: unexpected file %s", t.id, rel)
		} else if !bytes.Equal(data, w) {
			failf("tree %d: tiles: %s (%d bytes) differs from x/mod's (%d bytes)", t.id, rel, len(data), len(w))
		}
		return nil
	})
	if err != nil {
		failf("tree %d: tiles: %v", t.id, err)
	}
	for p := range want {
		if !got[p] {
			failf("tree %d: tiles: %s is missing", t.id, p)
		}
	}
	counts["tile files"] += len(want)
	// a Go client reading the tiles, authenticated against the checkpoint's root
	thr := tlog.TileHashReader(tlog.Tree{N: n, Hash: cp.root}, dirTiles{dir})
	if n > 0 {
		if h, err := tlog.TreeHash(n, thr); err != nil || h != cp.root {
			failf("tree %d: TreeHash over custos's tiles: %v", t.id, err)
		}
		for i := 0; i < 5; i++ {
			idx := rng.Int63n(n)
			p, err := tlog.ProveRecord(n, idx, thr)
			if err == nil {
				err = tlog.CheckRecord(p, n, cp.root, idx, tlog.RecordHash(t.m.entries[idx]))
			}
			if err != nil {
				failf("tree %d: record %d through custos's tiles: %v", t.id, idx, err)
			}
		}
	}
}

// ---- Go → custos ---------------------------------------------------------------------

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

func hexList(p []tlog.Hash) []string {
	out := make([]string, len(p))
	for i, h := range p {
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}

func mustJSON(v interface{}) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		fatalf("%v", err)
	}
	return b
}

type inclusionOut struct {
	Index    int64    `json:"index"`
	Size     int64    `json:"size"`
	LeafHash string   `json:"leaf_hash"`
	Proof    []string `json:"proof"`
	Root     string   `json:"root"`
}

type consistencyOut struct {
	OldSize int64    `json:"old_size"`
	NewSize int64    `json:"new_size"`
	OldRoot string   `json:"old_root"`
	NewRoot string   `json:"new_root"`
	Proof   []string `json:"proof"`
}

// goProofs has custos verify proofs that x/mod made, and reject damaged ones.
func (t *tree) goProofs() {
	n := t.m.size()
	for k := 0; k < 3; k++ {
		size := 1 + rng.Int63n(n)
		index := rng.Int63n(size)
		p, err := tlog.ProveRecord(size, index, &t.m)
		if err != nil {
			fatalf("ProveRecord: %v", err)
		}
		leaf, root := tlog.RecordHash(t.m.entries[index]), t.m.root(size)
		j := inclusionOut{index, size, hex.EncodeToString(leaf[:]), hexList(p), hex.EncodeToString(root[:])}
		file := t.path("go-inclusion.json")
		writeFile(file, mustJSON(j))
		if out, ok := mustCustos(nil, "verify", "inclusion", "--json", file); ok && string(out) != "OK\n" {
			failf("tree %d: verify inclusion printed %q", t.id, out)
		}
		counts["Go proofs custos verified"]++
		// the flag form, with the entry itself instead of its leaf hash
		entry := t.path("go-entry")
		writeFile(entry, t.m.entries[index])
		mustCustos(nil, "verify", "inclusion", "--index", strconv.FormatInt(index, 10), "--size",
			strconv.FormatInt(size, 10), "--entry", entry, "--root", j.Root, "--proof", strings.Join(j.Proof, ","))
		if len(p) > 0 {
			bad := j
			bad.Proof = hexList(damaged(p))
			mustReject("damaged inclusion proof", mustJSON(bad), "verify", "inclusion", "--json", "-")
			bad = j
			bad.Proof = bad.Proof[:len(bad.Proof)-1]
			mustReject("short inclusion proof", mustJSON(bad), "verify", "inclusion", "--json", "-")
		}
		bad := j
		bad.Proof = append(append([]string(nil), j.Proof...), j.Root)
		mustReject("long inclusion proof", mustJSON(bad), "verify", "inclusion", "--json", "-")
		bad = j
		other := tlog.RecordHash(append([]byte("not "), t.m.entries[index]...))
		bad.LeafHash = hex.EncodeToString(other[:])
		mustReject("inclusion of another entry", mustJSON(bad), "verify", "inclusion", "--json", "-")

		if size < 2 {
			continue
		}
		old := 1 + rng.Int63n(size-1)
		tp, err := tlog.ProveTree(size, old, &t.m)
		if err != nil {
			fatalf("ProveTree: %v", err)
		}
		oldRoot := t.m.root(old)
		c := consistencyOut{old, size, hex.EncodeToString(oldRoot[:]), j.Root, hexList(tp)}
		if out, ok := mustCustos(mustJSON(c), "verify", "consistency", "--json", "-"); ok && string(out) != "OK\n" {
			failf("tree %d: verify consistency printed %q", t.id, out)
		}
		counts["Go proofs custos verified"]++
		badC := c
		badC.Proof = hexList(damaged(tp))
		mustReject("damaged consistency proof", mustJSON(badC), "verify", "consistency", "--json", "-")
		badC = c
		badC.OldSize = old + 1
		if badC.OldSize < size {
			mustReject("consistency proof for another size", mustJSON(badC), "verify", "consistency", "--json", "-")
		}
	}
}

// goNotes has custos verify checkpoints that x/mod signed, and reject tampered copies.
func (t *tree) goNotes() {
	name := fmt.Sprintf("go.test/interop-%d", t.id)
	skey, vkey, err := note.GenerateKey(rng, name)
	if err != nil {
		fatalf("GenerateKey: %v", err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		fatalf("NewSigner: %v", err)
	}
	skey2, vkey2, err := note.GenerateKey(rng, "witness.go.test/w")
	if err != nil {
		fatalf("GenerateKey: %v", err)
	}
	signer2, _ := note.NewSigner(skey2)
	impostorKey, _, _ := note.GenerateKey(rng, name) // same name, another key
	impostor, _ := note.NewSigner(impostorKey)

	size := t.m.size()
	root := t.m.root(size)
	text := fmt.Sprintf("%s\n%d\n%s\n", name, size, b64(root))
	sign := func(text string, signers ...note.Signer) []byte {
		msg, err := note.Sign(&note.Note{Text: text}, signers...)
		if err != nil {
			fatalf("note.Sign: %v", err)
		}
		return msg
	}
	accept := func(what string, msg []byte, origin string, n int64, h tlog.Hash, vkeys ...string) {
		args := []string{"verify", "checkpoint"}
		for _, v := range vkeys {
			args = append(args, "--vkey", v)
		}
		out, ok := mustCustos(msg, args...)
		counts["Go-signed notes custos verified"]++
		want := fmt.Sprintf("OK origin %s size %d root %s witnesses 0\n", origin, n, b64(h))
		if ok && string(out) != want {
			failf("tree %d: %s: custos printed %q, want %q", t.id, what, out, want)
		}
	}
	msg := sign(text, signer)
	accept("Go-signed checkpoint", msg, name, size, root, vkey)
	accept("Go-signed checkpoint, several keys given", msg, name, size, root, vkey2, vkey)
	two := sign(text, signer, signer2)
	accept("checkpoint signed by two Go keys (first)", two, name, size, root, vkey)
	accept("checkpoint signed by two Go keys (second)", two, name, size, root, vkey2)
	sum := sign(string(tlog.FormatTree(tlog.Tree{N: size, Hash: root})), signer)
	accept("sumdb-style checkpoint", sum, "go.sum database tree", size, root, vkey)
	if size > 0 { // an older size of the same tree, with its own root
		old := rng.Int63n(size) + 1
		accept("Go-signed older checkpoint", sign(fmt.Sprintf("%s\n%d\n%s\n", name, old, b64(t.m.root(old))), signer),
			name, old, t.m.root(old), vkey)
	}

	// tampered copies
	otherSize := strings.Replace(string(msg), fmt.Sprintf("\n%d\n", size), fmt.Sprintf("\n%d\n", size+1), 1)
	mustReject("Go checkpoint with the size changed", []byte(otherSize), "verify", "checkpoint", "--vkey", vkey)
	rootB64 := b64(root)
	flipped := []byte(rootB64)
	flipped[5] = "AB"[boolInt(flipped[5] == 'A')]
	mustReject("Go checkpoint with the root changed",
		[]byte(strings.Replace(string(msg), rootB64, string(flipped), 1)), "verify", "checkpoint", "--vkey", vkey)
	sigAt := bytes.LastIndexByte(msg[:len(msg)-1], ' ') + 1 + 20 // inside the Ed25519 signature, past the key id
	badSig := append([]byte(nil), msg...)
	badSig[sigAt] = "AB"[boolInt(badSig[sigAt] == 'A')]
	mustReject("Go checkpoint with a signature byte changed", badSig, "verify", "checkpoint", "--vkey", vkey)
	split := bytes.LastIndex(msg, []byte("\n\n"))
	added := append(append(append([]byte(nil), msg[:split+1]...), "extension\n"...), msg[split+1:]...)
	mustReject("Go checkpoint with a line added", added, "verify", "checkpoint", "--vkey", vkey)
	mustReject("checkpoint signed by another key of the same name", sign(text, impostor), "verify", "checkpoint",
		"--vkey", vkey)
	mustReject("checkpoint verified with another key only", msg, "verify", "checkpoint", "--vkey", vkey2)

	// receipts: Go assembles one for custos; custos makes one on the Go-signed checkpoint
	if size == 0 {
		return
	}
	cpFile := t.path("go-checkpoint")
	writeFile(cpFile, msg)
	index := rng.Int63n(size)
	p, err := tlog.ProveRecord(size, index, &t.m)
	if err != nil {
		fatalf("ProveRecord: %v", err)
	}
	var rc bytes.Buffer
	fmt.Fprintf(&rc, "c2sp.org/tlog-proof@v1\nindex %d\n", index)
	for _, h := range p {
		rc.WriteString(b64(h) + "\n")
	}
	rc.WriteString("\n")
	rc.Write(msg)
	entry := t.path("receipt-entry")
	writeFile(entry, t.m.entries[index])
	if out, ok := mustCustos(rc.Bytes(), "verify", "receipt", "--vkey", vkey, "--entry", entry); ok &&
		string(out) != fmt.Sprintf("OK index %d\n", index) {
		failf("tree %d: verify receipt printed %q", t.id, out)
	}
	counts["receipts (Go-made) custos verified"]++
	writeFile(entry, append([]byte("x"), t.m.entries[index]...))
	mustReject("Go receipt for another entry", rc.Bytes(), "verify", "receipt", "--vkey", vkey, "--entry", entry)
	t.checkReceipt(index, &checkpoint{size: size, root: root, note: msg, file: cpFile}, mustVerifier(vkey))
}

func mustVerifier(vkey string) note.Verifier {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fatalf("NewVerifier: %v", err)
	}
	return v
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ---- the plan ----------------------------------------------------------------------

// stages returns the sizes at which tree id takes a checkpoint.
func stages(id int) []int64 {
	switch id {
	case 0:
		return []int64{0, 1} // the empty tree, then one entry
	case 1:
		return []int64{1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257} // FORMATS pitfall 2
	}
	n := 2 + rng.Int63n(*maxSize-1)
	set := map[int64]bool{n: true}
	for k := 1 + rng.Intn(4); k > 0; k-- {
		set[1+rng.Int63n(n)] = true
	}
	var out []int64
	for s := range set {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func runTree(id int) {
	dir := filepath.Join(*workDir, fmt.Sprintf("tree-%d", id))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		fatalf("%v", err)
	}
	t := &tree{id: id, name: fmt.Sprintf("custos.test/interop-%d", id), dir: dir,
		db: filepath.Join(dir, "log.db")}
	start := time.Now()
	t.keygen()
	plan := stages(id)
	for _, s := range plan {
		t.grow(s)
		t.checkpoint()
	}
	n := t.m.size()
	// inclusion: the ends, the checkpoint sizes, random pairs, and the default size once
	pairs := [][2]int64{{0, n}, {n - 1, n}, {0, 1}}
	for _, cp := range t.cps {
		if cp.size > 0 {
			pairs = append(pairs, [2]int64{rng.Int63n(cp.size), cp.size})
		}
	}
	for k := 0; k < 8; k++ {
		s := 1 + rng.Int63n(n)
		pairs = append(pairs, [2]int64{rng.Int63n(s), s})
	}
	for _, p := range pairs {
		t.checkInclusion(p[0], p[1], false)
	}
	t.checkInclusion(rng.Int63n(n), n, true)
	// consistency: consecutive checkpoints, random checkpoint pairs, random sizes, equal sizes
	var cpSizes []int64
	for _, cp := range t.cps {
		if cp.size > 0 {
			cpSizes = append(cpSizes, cp.size)
		}
	}
	for i := 1; i < len(cpSizes); i++ {
		t.checkConsistency(cpSizes[i-1], cpSizes[i])
	}
	for k := 0; k < 3 && len(cpSizes) > 1; k++ {
		a, b := cpSizes[rng.Intn(len(cpSizes))], cpSizes[rng.Intn(len(cpSizes))]
		if a > b {
			a, b = b, a
		}
		t.checkConsistency(a, b)
	}
	for k := 0; k < 6; k++ {
		b := 1 + rng.Int63n(n)
		t.checkConsistency(1+rng.Int63n(b), b)
	}
	t.checkConsistency(n, n)
	// receipts on custos's own checkpoints
	last := &t.cps[len(t.cps)-1]
	t.checkReceipt(rng.Int63n(n), last, t.verifier)
	if first := &t.cps[0]; first.size > 0 {
		t.checkReceipt(rng.Int63n(first.size), first, t.verifier)
	}
	for i := range t.cps { // tile boundaries (tree 1: 255, 256, 257), the first and last size
		if t.id <= 1 || i == 0 || i == len(t.cps)-1 {
			t.checkTiles(&t.cps[i])
		}
	}
	// the other direction
	t.goProofs()
	t.goNotes()
	fmt.Printf("tree %d: %d entries, checkpoints at %v: done in %v\n", id, n, plan,
		time.Since(start).Round(time.Millisecond))
}

func main() {
	flag.Parse()
	if *custosBin == "" || *fillBin == "" || *workDir == "" || *nTrees < 2 || *maxSize < 2 {
		fmt.Fprintln(os.Stderr, "usage: tlog-interop -custos PATH -fill PATH -work DIR [-seed N] [-trees N>=2] [-max N]")
		os.Exit(2)
	}
	rng = rand.New(rand.NewSource(*seed))
	fmt.Printf("tlog-interop: seed %d (CS_INTEROP_SEED to change), %d trees of up to %d entries\n",
		*seed, *nTrees, *maxSize)
	// the empty tree: x/mod's TreeHash(0) is zeros; C2SP (and custos) use SHA-256("")
	if zero, _ := tlog.TreeHash(0, &model{}); zero != (tlog.Hash{}) {
		failf("x/mod's TreeHash(0) changed: update the empty-tree convention note")
	}
	for id := 0; id < *nTrees; id++ {
		runTree(id)
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %-42s %d\n", k, counts[k])
	}
	if failures > 0 {
		fmt.Printf("tlog-interop: %d failures (seed %d)\n", failures, *seed)
		os.Exit(1)
	}
	fmt.Println("tlog-interop: ok")
}
