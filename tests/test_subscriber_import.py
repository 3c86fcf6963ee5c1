"""`digest subscribers import` reads real exports as they come: headers mapped, delimiters sniffed, statuses kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.models import SubscriberStatus

from conftest import FIXTURES, write
from support.cli import INHERITED, cli, in_process
from support.project import make_config
from support.stores import store_of

EXPORTS = FIXTURES / "subscribers"


def listing(config: Path) -> dict[str, tuple[str | None, SubscriberStatus]]:
    store = store_of(config)
    try:
        return {s.email: (s.name, s.status) for s in store.subscribers.iter()}
    finally:
        store.close()


@pytest.mark.parametrize(
    ("export", "expected", "summary"),
    [
        (
            "mailchimp-subscribed.csv",
            {"ines.ferreira@example.org": ("Inês Ferreira", "active"), "tom@example.net": ("Tom", "active")},
            "2 added, 0 already on the list, 0 bad row(s)",
        ),
        ("mailchimp-unsubscribed.csv", {"gone@example.org": ("Gil Onn", "unsubscribed")}, "1 added (1 as unsubscribed"),
        ("mailchimp-cleaned.csv", {"nobody@example.net": (None, "bounced")}, "1 added (1 as bounced"),
        (
            "listmonk.csv",
            {
                "ana@example.org": ("Ana Lima", "active"),
                "spam@example.org": ("Spam Bot", "unsubscribed"),
                "ben@example.org": (None, "active"),
            },
            "3 added (1 as unsubscribed: kept on file, never mailed), 0 already on the list, 0 bad row(s)",
        ),
        (
            "buttondown.csv",
            {"reader@example.com": (None, "active"), "paid@example.com": (None, "active"), "left@example.com": (None, "unsubscribed")},
            "3 added (1 as unsubscribed: kept on file, never mailed), 0 already on the list, 0 bad row(s), 1 unconfirmed skipped",
        ),
        ("semicolon.csv", {"kai@example.de": ("Kai Müller", "active"), "lea@example.de": ("Lea", "active")}, "2 added"),
        ("tabs.tsv", {"zed@example.org": ("Zed Zee", "active"), "yo@example.org": (None, "active")}, "2 added"),
    ],
)
def test_exports_import_as_they_come(tmp_path: Path, export: str, expected: dict[str, tuple[str | None, str]], summary: str) -> None:
    config = make_config(tmp_path, None)
    result = cli(config, "subscribers", "import", str(EXPORTS / export))
    assert result.returncode == 0, result.stderr
    assert summary in result.stdout
    assert listing(config) == {email: (name, SubscriberStatus(status)) for email, (name, status) in expected.items()}


def test_an_export_never_resubscribes_and_a_later_list_cannot_readd_who_left(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    assert cli(config, "subscribers", "import", str(EXPORTS / "listmonk.csv")).returncode == 0
    again = cli(config, "subscribers", "import", str(write(tmp_path / "plain.csv", "spam@example.org,Spam\nnew@example.org\n")))
    assert "1 added, 1 already on the list" in again.stdout
    assert "spam@example.org is unsubscribed; not re-subscribed by an import" in again.stderr
    assert listing(config)["spam@example.org"][1] == SubscriberStatus.UNSUBSCRIBED


def test_an_opt_out_in_an_import_is_honoured_for_someone_on_the_list(tmp_path: Path) -> None:
    """Issue 22, item 13. Reproduction: importing a Mailchimp *unsubscribed* export reported "1 already on the
    list" and left that address active, with no warning."""
    config = make_config(tmp_path, None)
    assert cli(config, "subscribers", "add", "gone@example.org").returncode == 0
    result = cli(config, "subscribers", "import", str(EXPORTS / "mailchimp-unsubscribed.csv"))
    assert result.returncode == 0, result.stderr
    assert "1 already on the list (1 unsubscribed by this import: their opt-out honoured)" in result.stdout
    assert "gone@example.org was active; now unsubscribed as the export says" in result.stderr
    assert listing(config)["gone@example.org"][1] == SubscriberStatus.UNSUBSCRIBED
    cleaned = cli(config, "subscribers", "import", str(EXPORTS / "mailchimp-cleaned.csv"))
    assert "1 added (1 as bounced" in cleaned.stdout


def test_an_unknown_status_is_a_bad_row_not_a_guess(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    csv_file = write(tmp_path / "odd.csv", "email,status\nok@example.org,enabled\nodd@example.org,frozen-ish\n")
    result = cli(config, "subscribers", "import", str(csv_file))
    assert result.returncode == 1
    assert f'{csv_file}:3: unknown status "frozen-ish"' in result.stderr
    assert list(listing(config)) == ["ok@example.org"]


def test_add_refuses_someone_who_left_unless_they_asked(tmp_path: Path) -> None:
    """Issue 31, item 4. Reproduction: `subscribers add` for someone who had unsubscribed or complained answered
    "already on the list (active)" and had silently made them active again."""
    config = make_config(tmp_path, None)
    for address in ("gone@example.org", "angry@example.org", "full@example.org"):
        assert cli(config, "subscribers", "add", address).returncode == 0
    assert cli(config, "subscribers", "remove", "gone@example.org").returncode == 0
    store = store_of(config)
    angry, full = store.subscribers.get("angry@example.org"), store.subscribers.get("full@example.org")
    assert angry is not None and full is not None
    store.subscribers.set_status(angry.id, SubscriberStatus.UNSUBSCRIBED, "complained: abuse report")
    store.subscribers.set_status(full.id, SubscriberStatus.BOUNCED, "5.1.1 mailbox unknown")
    for address, status, why in (
        ("gone@example.org", "unsubscribed", "removed by an operator"),
        ("angry@example.org", "unsubscribed", "complained: abuse report"),
        ("full@example.org", "bounced", "5.1.1 mailbox unknown"),
    ):
        refused = cli(config, "subscribers", "add", address)
        assert refused.returncode == 1 and refused.stdout == ""
        assert f"error: {address} left the list ({status}: {why}); an operator brings back only someone who asked" in refused.stderr
        assert f"If they asked you to: digest --config {config} subscribers add {address} --resubscribe" in refused.stderr
        assert listing(config)[address][1] == SubscriberStatus(status)
    back = cli(config, "subscribers", "add", "angry@example.org", "--resubscribe")
    assert back.returncode == 0, back.stderr
    assert back.stdout == "re-subscribed at their request (was unsubscribed: complained: abuse report): angry@example.org\n"
    assert listing(config)["angry@example.org"][1] == SubscriberStatus.ACTIVE
    assert cli(config, "subscribers", "add", "angry@example.org").stdout == "already on the list (active): angry@example.org\n"
    assert cli(config, "subscribers", "add", "new@example.org", "--resubscribe").stdout == "added: new@example.org\n"
    store.subscribers.sign_up("waits@example.org", None, None)  # a sign-up awaiting confirmation: the operator vouches
    assert (
        cli(config, "subscribers", "add", "waits@example.org").stdout == "added (was pending: active now on your word): waits@example.org\n"
    )
    assert listing(config)["waits@example.org"][1] == SubscriberStatus.ACTIVE


def test_nothing_lifts_a_forget_suppression(tmp_path: Path) -> None:
    """Issue 31, item 4: `--resubscribe` never brings back an address that asked to be forgotten, and without the
    secret key (nothing can then be checked against the hashes kept) add and import refuse while any is kept."""
    config = make_config(tmp_path, None)
    assert cli(config, "subscribers", "add", "erase@example.org").returncode == 0
    assert cli(config, "subscribers", "forget", "erase@example.org", "--yes").returncode == 0
    refused = cli(config, "subscribers", "add", "Erase@example.org", "--resubscribe")
    assert refused.returncode == 1 and "erase@example.org asked to be forgotten: only they can sign up again" in refused.stderr.lower()
    csv_file = write(tmp_path / "again.csv", "erase@example.org\nother@example.org\n")
    for args in (("subscribers", "add", "erase@example.org", "--resubscribe"), ("subscribers", "import", str(csv_file))):
        result = in_process(["--config", str(config), *args], drop=INHERITED)
        assert result.returncode != 0 and "added" not in result.stdout, result.stdout
        assert "DIGEST_SECRET_KEY is not set: it recognises the 1 forgotten address(es) on the suppression list" in result.stderr
    assert sorted(listing(config)) == []


def test_a_file_that_is_not_utf8_or_split_by_another_delimiter_is_refused_whole_naming_why(tmp_path: Path) -> None:
    """Issue 31 (low). Reproduction: a Latin-1 list was refused with Python's "'utf-8' codec can't decode byte 0xe9
    in position 51" (no line, no advice), and a list split by `|` gave a bad address per row, never naming the
    delimiter, while a row like `ann|ann@example.org` would have been stored as that (valid) address."""
    config = make_config(tmp_path, None)
    latin = write(tmp_path / "latin.csv", "email,name\nann@example.org,Ann\nrene@example.org,Ren\xe9 \x1b[2J\n".encode("latin-1"))
    result = cli(config, "subscribers", "import", str(latin))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        f"error: {latin}:3: byte 0xe9 at offset 51 is not UTF-8, the encoding an import reads (read as Windows-1252 or "
        'Latin-1, the line is "rene@example.org,René \\x1b[2J"); save the file as UTF-8 and import it again\n'
    )
    # Excel's "CSV UTF-8" starts with a byte-order mark: the offset and the byte are still the file's own.
    marked = write(tmp_path / "marked.csv", b"\xef\xbb\xbfemail\nren\xe9@example.org\n")
    result = cli(config, "subscribers", "import", str(marked))
    assert result.returncode == 2 and f"error: {marked}:2: byte 0xe9 at offset 12 is not UTF-8" in result.stderr, result.stderr
    piped = write(tmp_path / "piped.csv", "email\nann@example.org|Ann\nann|ann@example.org\n")
    result = cli(config, "subscribers", "import", str(piped))
    assert result.returncode == 2 and result.stdout == ""
    assert f"error: {piped}:1: the rows are split by '|' (2 of the first 3 non-blank lines have it" in result.stderr
    assert "an import reads comma, semicolon or tab separated files: save it with one of those" in result.stderr
    huge = write(tmp_path / "huge.csv", 'email,name\nann@example.org,Ann\nbo@example.org,"' + "B" * 200_000 + '"\n')
    result = cli(config, "subscribers", "import", str(huge))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"error: {huge}:3: field larger than field limit" in result.stderr and "nothing imported" in result.stderr
    assert listing(config) == {}  # nothing of any of them, not even the good rows before the bad line


def test_bad_rows_are_named_by_the_line_they_start_on_and_the_delimiter_read(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    csv_file = write(tmp_path / "list.csv", 'ann@example.org;"Ann\nSmith"\n\nbo@example.org;Bo;extra\nnot-an-address;Cy\n')
    result = cli(config, "subscribers", "import", str(csv_file))
    assert result.returncode == 1
    assert f"warning: {csv_file}:4: expected email[,name], got 3 fields split by semicolon" in result.stderr
    assert f"warning: {csv_file}:5: 'not-an-address': " in result.stderr
    assert listing(config) == {"ann@example.org": ("Ann Smith", SubscriberStatus.ACTIVE)}


def test_only_a_file_split_by_another_delimiter_is_refused_for_it() -> None:
    from digest.models.csv_formats import read_csv
    from digest.models.errors import ListFileError

    kept = {
        "a@example.org,Ann: editor\nb@example.org\n": 2,
        "a@example.org\n\nb@example.org\n": 2,
        "email\na@example.org|x\nb@example.org\n": 2,
    }
    for text, count in kept.items():  # a colon in a name, one column, a stray pipe: read as ever
        assert len(list(read_csv(text))) == count
    for text in ("a@example.org|Ann\n", "email\na@example.org|A\nb@example.org|B\n", "a@example.org^A\nb@example.org^B\n"):
        with pytest.raises(ListFileError, match="the rows are split by"):
            list(read_csv(text))
