package mail

import (
	"encoding/base64"
	"flag"
	"mime"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
)

var update = flag.Bool("update", false, "rewrite the generated non-UTF-8 testdata files")

// charsetFixture is a message whose header and body are really encoded in
// a legacy charset; the text is written here in UTF-8 and encoded on
// generation, so the .eml bytes are what those clients send.
type charsetFixture struct {
	name, charset, cte string
	enc                encoding.Encoding
	from, subject      string // UTF-8; encoded as RFC 2047 words in the charset
	extra              string // more header lines
	body               string // UTF-8
	want               string // expected Reply
}

var charsetFixtures = []charsetFixture{
	{
		name: "charset_iso8859_1", charset: "iso-8859-1", cte: "quoted-printable", enc: charmap.ISO8859_1,
		from:    "Jürgen Weiß <j.weiss@web.example>",
		subject: "AW: [MED-2026-0060] Terminbestätigung für die Sitzung",
		extra:   "X-Mailer: Microsoft Outlook 16.0\n",
		body: "Sehr geehrte Damen und Herren,\n\nich bestätige den Termin am 1. Dezember. Über eine kurze Agenda würde ich mich freuen.\n\nMit freundlichen Grüßen\nJürgen Weiß\n\n" +
			"-----Ursprüngliche Nachricht-----\nVon: Mediation Office <cases@practice.example>\nGesendet: Dienstag, 24. November 2026 10:02\nAn: Jürgen Weiß <j.weiss@web.example>\nBetreff: [MED-2026-0060] Terminbestätigung\n\nSehr geehrter Herr Weiß, ...\n",
		want: "Sehr geehrte Damen und Herren,\n\nich bestätige den Termin am 1. Dezember. Über eine kurze Agenda würde ich mich freuen.\n\nMit freundlichen Grüßen\nJürgen Weiß",
	},
	{
		name: "charset_windows1252", charset: "windows-1252", cte: "8bit", enc: charmap.Windows1252,
		from:    "Chloé O’Neill <chloe.oneill@firm.example>",
		subject: "RE: [MED-2026-0042] “Final” offer – €15,000",
		extra:   "X-Mailer: Microsoft Outlook 16.0\nThread-Topic: [MED-2026-0042] Final offer\n",
		body: "Our client’s “final” offer is €15,000 – payable within 30 days.\n\nChloé O’Neill\n\n" +
			"From: Mediation Office <cases@practice.example>\nSent: Tuesday, November 24, 2026 10:02 AM\nTo: Chloé O’Neill <chloe.oneill@firm.example>\nSubject: [MED-2026-0042] Final offer\n\nDear Ms O’Neill, ...\n",
		want: "Our client’s “final” offer is €15,000 – payable within 30 days.\n\nChloé O’Neill",
	},
	{
		name: "charset_koi8r", charset: "koi8-r", cte: "base64", enc: charmap.KOI8R,
		from:    "Ольга Иванова <olga.ivanova@mail.example>",
		subject: "Re: [MED-2026-0093] Повестка заседания",
		extra:   "X-Mailer: Mail.Ru Mailer 1.0\n",
		body: "Добрый день!\n\nПовестка меня устраивает. Прошу добавить вопрос о стоимости ремонта.\n\nС уважением,\nОльга\n\n" +
			"вт, 24 нояб. 2026 г. в 10:02, Mediation Office <cases@practice.example>:\n\n> Уважаемые стороны,\n> направляем повестку заседания.\n",
		want: "Добрый день!\n\nПовестка меня устраивает. Прошу добавить вопрос о стоимости ремонта.\n\nС уважением,\nОльга",
	},
	{
		name: "charset_shift_jis", charset: "shift_jis", cte: "base64", enc: japanese.ShiftJIS,
		from:    "田中 太郎 <t.tanaka@example.jp>",
		subject: "Re: [MED-2026-0101] 調停期日のご案内",
		extra:   "X-Mailer: Microsoft Outlook 16.0\n",
		body: "お世話になっております。\n\n12月1日の期日に出席いたします。\n\n田中\n\n" +
			"2026年11月24日(火) 10:02 Mediation Office <cases@practice.example>:\n\n> 当事者各位\n> 調停期日をご案内いたします。\n",
		want: "お世話になっております。\n\n12月1日の期日に出席いたします。\n\n田中",
	},
	{
		name: "charset_gb2312", charset: "gb2312", cte: "base64", enc: simplifiedchinese.GBK,
		from:    "王芳 <wang.fang@example.cn>",
		subject: "回复: [MED-2026-0102] 调解会议安排",
		extra:   "X-Mailer: Foxmail 7.2\n",
		body: "您好，\n\n我同意十二月一日的会议安排。\n\n王芳\n\n" +
			"Mediation Office <cases@practice.example> 于2026年11月24日周二 10:02写道：\n> 各方当事人：\n> 现通知调解会议安排。\n",
		want: "您好，\n\n我同意十二月一日的会议安排。\n\n王芳",
	},
}

// TestGenerate writes the charset fixtures: go test -run TestGenerate -update ./mail/
func TestGenerate(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the generated testdata")
	}
	for _, f := range charsetFixtures {
		eml, err := f.build()
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if err := os.WriteFile(filepath.Join("testdata", f.name+".eml"), eml, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", f.name+".want"), []byte(f.want+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (f charsetFixture) build() ([]byte, error) {
	// GB2312 text is EUC-CN: the GBK encoder gives the same bytes for GB2312 characters.
	encode := func(s string) (string, error) { return f.enc.NewEncoder().String(s) }
	word := func(s string) (string, error) {
		b, err := encode(s)
		if err != nil {
			return "", err
		}
		return "=?" + f.charset + "?B?" + base64.StdEncoding.EncodeToString([]byte(b)) + "?=", nil
	}
	name, addr, _ := strings.Cut(f.from, " <")
	fromWord, err := word(name)
	if err != nil {
		return nil, err
	}
	subj, err := word(f.subject)
	if err != nil {
		return nil, err
	}
	body, err := encode(strings.ReplaceAll(f.body, "\n", "\r\n"))
	if err != nil {
		return nil, err
	}
	switch f.cte {
	case "base64":
		s := base64.StdEncoding.EncodeToString([]byte(body))
		var lines []string
		for len(s) > 76 {
			lines, s = append(lines, s[:76]), s[76:]
		}
		body = strings.Join(append(lines, s), "\r\n") + "\r\n"
	case "quoted-printable":
		var b strings.Builder
		w := quotedprintable.NewWriter(&b)
		if _, err := w.Write([]byte(body)); err != nil {
			return nil, err
		}
		w.Close()
		body = b.String()
	}
	h := "Return-Path: <" + strings.TrimSuffix(addr, ">") + ">\n" +
		"Received: from smtp.sender.example (smtp.sender.example [192.0.2.10])\n\tby mx.practice.example (Postfix) with ESMTPS id 5C6D7E8F90\n\tfor <cases@practice.example>; Tue, 24 Nov 2026 12:00:00 +0000 (UTC)\n" +
		"From: " + fromWord + " <" + addr + "\n" +
		"To: cases@practice.example\n" +
		"Subject: " + subj + "\n" +
		"Date: Tue, 24 Nov 2026 12:00:00 +0000\n" +
		"Message-ID: <" + f.name + ".1@sender.example>\n" +
		"In-Reply-To: <MED-2026-0042.1.a1b2@practice.example>\n" +
		f.extra +
		"MIME-Version: 1.0\n" +
		"Content-Type: " + mime.FormatMediaType("text/plain", map[string]string{"charset": f.charset}) + "\n" +
		"Content-Transfer-Encoding: " + f.cte + "\n\n"
	return append([]byte(strings.ReplaceAll(h, "\n", "\r\n")), body...), nil
}
