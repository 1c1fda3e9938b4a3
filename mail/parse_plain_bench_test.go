package mail

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParsePlain parses the plain reply Ingest10k delivers: the
// common case, and half the intake pipeline's work per message.
//
//	go test -run='^$' -bench=ParsePlain -benchmem ./mail/
func BenchmarkParsePlain(b *testing.B) {
	raw := []byte(fmt.Sprintf("From: p1@example.com\r\nTo: Mediation Office <cases@practice.example>\r\nSubject: Re: [MED-2026-0001] documents\r\n"+
		"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <b1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		"Dear mediator,\r\n\r\nhere is my answer number 1 about the lease and the deposit.\r\n\r\nRegards\r\n\r\nOn Mon, Mediation Office wrote:\r\n> earlier text\r\n> more earlier text"))
	b.ReportAllocs()
	for b.Loop() {
		m, err := Parse(bytes.NewReader(raw), Limits{})
		if err != nil || m.Reply == "" {
			b.Fatal(m, err)
		}
		_ = DedupeKey(m, raw)
	}
}

// BenchmarkParseDelivered parses a reply as a mailbox at a large provider
// holds it: the same text under a header of trace, authentication and
// signature fields (Received, DKIM, ARC, X-Google-*), most of its bytes.
//
//	go test -run='^$' -bench=ParseDelivered -benchmem ./mail/
func BenchmarkParseDelivered(b *testing.B) {
	var h bytes.Buffer
	for i := range 4 {
		fmt.Fprintf(&h, "Received: from mail-sor-f%d.google.com (mail-sor-f%d.google.com. [209.85.220.%d])\r\n        by mx.practice.example with SMTPS id a%d\r\n        for <cases@practice.example>; Mon, 02 Mar 2026 10:00:0%d +0000\r\n", i, i, 40+i, i, i)
	}
	sig := strings.Repeat("Zm9vYmFyYmF6cXV4", 20)
	h.WriteString("ARC-Seal: i=1; a=rsa-sha256; t=1772445600; cv=none; d=google.com; s=arc-20240605;\r\n        b=" + sig + "\r\n")
	h.WriteString("ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=google.com; s=arc-20240605;\r\n        h=to:subject:message-id:date:from:mime-version:dkim-signature;\r\n        bh=" + sig[:44] + ";\r\n        b=" + sig + "\r\n")
	h.WriteString("ARC-Authentication-Results: i=1; mx.google.com; dkim=pass header.i=@example.com; spf=pass smtp.mailfrom=p1@example.com\r\n")
	h.WriteString("Return-Path: <p1@example.com>\r\nReceived-SPF: pass (google.com: domain of p1@example.com designates 209.85.220.41 as permitted sender) client-ip=209.85.220.41;\r\n")
	h.WriteString("Authentication-Results: mx.practice.example; dkim=pass header.i=@example.com header.s=20230601; spf=pass; dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com\r\n")
	h.WriteString("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=20230601; t=1772445600; x=1773050400; darn=practice.example;\r\n        h=to:subject:message-id:date:from:mime-version:from:to:cc:subject:date:message-id:reply-to;\r\n        bh=" + sig[:44] + ";\r\n        b=" + sig + "\r\n")
	h.WriteString("X-Google-DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=1e100.net; s=20230601; t=1772445600;\r\n        b=" + sig + "\r\n")
	h.WriteString("X-Gm-Message-State: AOJu0Yw" + sig[:60] + "\r\nX-Google-Smtp-Source: AGHT+IF" + sig[:60] + "\r\nX-Received: by 2002:a05:6402:1:b0:5c4 with SMTP id 4fb4; Mon, 02 Mar 2026 02:00:00 -0800 (PST)\r\n")
	raw := []byte(h.String() + "MIME-Version: 1.0\r\nFrom: P One <p1@example.com>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <b1@example.com>\r\n" +
		"Subject: Re: [MED-2026-0001] documents\r\nTo: Mediation Office <cases@practice.example>\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n" +
		"Dear mediator,\r\n\r\nhere is my answer number 1 about the lease and the deposit.\r\n\r\nRegards\r\n\r\nOn Mon, Mediation Office wrote:\r\n> earlier text\r\n> more earlier text\r\n")
	b.ReportAllocs()
	for b.Loop() {
		m, err := Parse(bytes.NewReader(raw), Limits{})
		if err != nil || m.Reply == "" || m.From != "p1@example.com" || m.ReturnPath != "p1@example.com" {
			b.Fatal(m, err)
		}
		_ = DedupeKey(m, raw)
	}
}
