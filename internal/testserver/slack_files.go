package testserver

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// SharedFile is a file a user shared in Slack, which files.info describes
// and its url_private_download serves (to the bot token only).
type SharedFile struct {
	ID       string
	Name     string
	Mimetype string
	Content  []byte
	// Size is what files.info reports; len(Content) when zero.
	Size int64
}

// AddFile makes f known to files.info and downloadable; it returns f.ID.
func (s *Slack) AddFile(f SharedFile) string {
	if f.Size == 0 {
		f.Size = int64(len(f.Content))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.ID == "" {
		s.seq++
		f.ID = fmt.Sprintf("FSHARE%04d", s.seq)
	}
	s.files[f.ID] = f
	return f.ID
}

// fileInfo answers files.info for a file added with AddFile.
func (s *Slack) fileInfo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, ok := s.files[r.Form.Get("file")]
	s.mu.Unlock()
	if !ok {
		fmt.Fprint(w, `{"ok":false,"error":"file_not_found"}`)
		return
	}
	b, _ := json.Marshal(map[string]any{"ok": true, "file": map[string]any{
		"id": f.ID, "name": f.Name, "title": f.Name, "mimetype": f.Mimetype, "size": f.Size,
		"url_private": s.srv.URL + "/files/" + f.ID, "url_private_download": s.srv.URL + "/files/" + f.ID + "?download=1",
	}})
	_, _ = w.Write(b)
}

// download serves a file's bytes to the bot token, as files.slack.com does.
func (s *Slack) download(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	f, ok := s.files[id]
	s.methods["download"]++
	s.mu.Unlock()
	if !ok || r.Header.Get("Authorization") != "Bearer "+s.token {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", f.Mimetype)
	_, _ = w.Write(f.Content)
}
