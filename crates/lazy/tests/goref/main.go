// Command goref drives the stargz-snapshotter reference implementation
// (package estargz) for hoist's interoperability tests.
//
//	goref verify BLOB TOCDIGEST
//	    Opens BLOB with estargz.Open, checks its TOC against TOCDIGEST with
//	    VerifyTOC, then reads every regular file chunk by chunk, checking
//	    each chunk with the verifier the TOC gave. Prints one line per file:
//	    "sha256:<hex> <path>", sorted by path.
//
//	goref build [-chunk-size N] IN.tar OUT.blob [PRIORITIZED...]
//	    Builds an eStargz blob from IN.tar with estargz.Build and prints
//	    "tocdigest <digest>" and "diffid <digest>". Prioritized files that
//	    are not in the tar are tolerated and listed as "missing <path>".
//
// Build it with GO111MODULE=off GOPATH=/usr/share/gocode (Debian's
// golang-github-containerd-stargz-snapshotter-dev).
package main

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"sort"

	"github.com/containerd/stargz-snapshotter/estargz"
	digest "github.com/opencontainers/go-digest"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: goref verify|build ..."))
	}
	var err error
	switch os.Args[1] {
	case "verify":
		err = verify(os.Args[2:])
	case "build":
		err = build(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "goref:", err)
	os.Exit(1)
}

func verify(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: goref verify BLOB TOCDIGEST")
	}
	want, err := digest.Parse(args[1])
	if err != nil {
		return fmt.Errorf("TOC digest: %w", err)
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	r, err := estargz.Open(io.NewSectionReader(f, 0, st.Size()))
	if err != nil {
		return fmt.Errorf("estargz.Open: %w", err)
	}
	v, err := r.VerifyTOC(want)
	if err != nil {
		return fmt.Errorf("VerifyTOC: %w", err)
	}
	sums := map[string]string{}
	if err := walk(r, v, "", sums); err != nil {
		return err
	}
	paths := make([]string, 0, len(sums))
	for p := range sums {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Printf("%s %s\n", sums[p], p)
	}
	return nil
}

// walk visits the directory tree the reader built from the TOC. Hard links
// appear as their target's entry under the link's own path.
func walk(r *estargz.Reader, v estargz.TOCEntryVerifier, dir string, sums map[string]string) error {
	d, ok := r.Lookup(dir)
	if !ok {
		return fmt.Errorf("directory %q not in the TOC", dir)
	}
	var err error
	d.ForeachChild(func(base string, e *estargz.TOCEntry) bool {
		p := path.Join(dir, base)
		switch e.Type {
		case "dir":
			err = walk(r, v, p, sums)
		case "reg":
			sums[p], err = readVerified(r, v, e)
			if err != nil {
				err = fmt.Errorf("%s: %w", p, err)
			}
		}
		return err == nil
	})
	return err
}

// readVerified reads a file chunk by chunk and checks every chunk against
// its TOC digest, as the snapshotter does before serving it.
func readVerified(r *estargz.Reader, v estargz.TOCEntryVerifier, e *estargz.TOCEntry) (string, error) {
	sr, err := r.OpenFile(e.Name)
	if err != nil {
		return "", err
	}
	whole := sha256.New()
	for off := int64(0); off < e.Size; {
		ce, ok := r.ChunkEntryForOffset(e.Name, off)
		if !ok {
			return "", fmt.Errorf("no chunk at offset %d", off)
		}
		if ce.ChunkOffset != off || ce.ChunkSize <= 0 {
			return "", fmt.Errorf("chunk for offset %d starts at %d with size %d", off, ce.ChunkOffset, ce.ChunkSize)
		}
		cv, err := v.Verifier(ce)
		if err != nil {
			return "", fmt.Errorf("verifier of chunk at %d: %w", off, err)
		}
		buf := make([]byte, ce.ChunkSize)
		n, err := sr.ReadAt(buf, off)
		if int64(n) != ce.ChunkSize {
			return "", fmt.Errorf("reading chunk at %d: %d bytes, %v", off, n, err)
		}
		if _, err := io.Copy(cv, bytes.NewReader(buf)); err != nil {
			return "", err
		}
		if !cv.Verified() {
			return "", fmt.Errorf("chunk at %d does not match its digest", off)
		}
		whole.Write(buf)
		off += ce.ChunkSize
	}
	sum := fmt.Sprintf("sha256:%x", whole.Sum(nil))
	if e.Digest != "" && e.Digest != sum {
		return "", fmt.Errorf("content %s does not match the file digest %s", sum, e.Digest)
	}
	return sum, nil
}

func build(args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	chunkSize := fs.Int("chunk-size", 0, "chunk size (0: the default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return fmt.Errorf("usage: goref build [-chunk-size N] IN.tar OUT.blob [PRIORITIZED...]")
	}
	in, out, prioritized := fs.Arg(0), fs.Arg(1), fs.Args()[2:]
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var missing []string
	opts := []estargz.Option{
		estargz.WithChunkSize(*chunkSize),
		estargz.WithAllowPrioritizeNotFound(&missing),
	}
	if len(prioritized) > 0 {
		opts = append(opts, estargz.WithPrioritizedFiles(prioritized))
	}
	blob, err := estargz.Build(io.NewSectionReader(f, 0, st.Size()), opts...)
	if err != nil {
		return fmt.Errorf("estargz.Build: %w", err)
	}
	o, err := os.Create(out)
	if err != nil {
		blob.Close()
		return err
	}
	if _, err := io.Copy(o, blob); err != nil {
		blob.Close()
		o.Close()
		return err
	}
	if err := o.Close(); err != nil {
		blob.Close()
		return err
	}
	if err := blob.Close(); err != nil {
		return err
	}
	fmt.Printf("tocdigest %s\ndiffid %s\n", blob.TOCDigest(), blob.DiffID())
	for _, m := range missing {
		fmt.Printf("missing %s\n", m)
	}
	return nil
}
