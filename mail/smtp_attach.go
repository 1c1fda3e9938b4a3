package mail

import (
	"context"
	"fmt"
	"mime"

	"github.com/casebot/casebot"
)

// docFile is a case document on its way out as an attachment.
type docFile struct {
	name, typ string
	content   []byte
}

// attachments reads the documents m carries (OutMessage.Attach). A
// document that is gone (the case or the document purged) or whose content
// was not kept fails the message for good, naming the doc# only: the
// parties must not get a mail without the attachments it was sent with.
// Another error (the store busy) is returned for the outbox to retry.
func (s *SMTPSender) attachments(ctx context.Context, m casebot.OutMessage) ([]docFile, error) {
	if len(m.Attach) == 0 {
		return nil, nil
	}
	if s.cfg.Documents == nil {
		return nil, permanentError{fmt.Errorf("mail: cannot attach documents of %s: no document store", m.CaseID)}
	}
	files := make([]docFile, 0, len(m.Attach))
	for _, n := range m.Attach {
		d, content, err := s.cfg.Documents.DocumentFile(ctx, m.CaseID, n)
		switch {
		case casebot.ErrorCode(err) == casebot.ENOTFOUND:
			return nil, permanentError{fmt.Errorf("mail: document #%d of %s to attach is gone; not sent", n, m.CaseID)}
		case err != nil:
			return nil, fmt.Errorf("mail: document #%d of %s: %w", n, m.CaseID, err)
		case !d.Kept || int64(len(content)) != d.Size:
			return nil, permanentError{fmt.Errorf("mail: document #%d of %s to attach was not kept; not sent", n, m.CaseID)}
		}
		files = append(files, docFile{name: casebot.SafeFileName(d.Name), typ: attachmentType(d.Type()), content: content})
	}
	return files, nil
}

// attachmentType returns t when it is a well-formed media type, without
// its parameters, else application/octet-stream.
func attachmentType(t string) string {
	mt, _, err := mime.ParseMediaType(t)
	if err != nil || mime.FormatMediaType(mt, nil) == "" {
		return "application/octet-stream"
	}
	return mt
}
