package ui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// asset is one file served by [UI.Assets].
type asset struct {
	name   string // plain name: "sigra.css"
	hashed string // content-addressed name: "sigra.1a2b3c4d5e6f.css"
	ctype  string
	etag   string
	body   []byte
}

// assetTypes are the file types Assets serves.
var assetTypes = map[string]string{
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".jpg":   "image/jpeg",
	".jpeg":  "image/jpeg",
	".webp":  "image/webp",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

func newAsset(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:6])
	ext := path.Ext(name)
	ct := assetTypes[ext]
	if ct == "" {
		ct = mime.TypeByExtension(ext)
	}
	return &asset{
		name:   name,
		hashed: strings.TrimSuffix(name, ext) + "." + h + ext,
		ctype:  ct,
		etag:   `"` + h + `"`,
		body:   body,
	}
}

// loadAssets builds the assets from the files under assets/, appends the
// brand colours to sigra.css and adds the generated icon.svg unless an
// override provides one.
func loadAssets(files map[string][]byte, brand Brand) (map[string]*asset, error) {
	out := make(map[string]*asset)
	for p, body := range files {
		dir, name := path.Split(p)
		if dir != "assets/" {
			continue
		}
		if name == "sigra.css" {
			body = append(bytes.Clone(body), brandCSS(brand.AccentColor)...)
		}
		out[name] = newAsset(name, body)
	}
	for _, need := range []string{"sigra.css", "theme.js"} {
		if out[need] == nil {
			return nil, templateErr("assets/%s is missing", need)
		}
	}
	if out["icon.svg"] == nil {
		out["icon.svg"] = newAsset("icon.svg", iconSVG(brand.AccentColor))
	}
	return out, nil
}

// assetHandler serves assets by the last element of the request path, so
// it works whether or not the mount prefix is stripped.
type assetHandler struct {
	byName map[string]*asset // both plain and hashed names
}

func (h *assetHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := path.Base(r.URL.Path)
	a := h.byName[name]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("ETag", a.etag)
	if name == a.hashed {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	// ServeContent answers If-None-Match with 304, handles HEAD and ranges.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
