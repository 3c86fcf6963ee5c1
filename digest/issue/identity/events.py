"""What happened: the sort of event a post tells (a fire, a theft, a crash, a new mayor), read from a small table of
event words and their synonyms (blaze is fire; shut is closed; a break-in, thieves and "nicked" are a theft).

Two posts of one place on one day are often two events (a barn fire and the village quiz; a theft from the church
and its concert), and one event told by a wire and by a chatty post often shares no word of its headline ("A614
closed after lorry overturns" / "Driver hurt as HGV spills load"). So the sort of event is read both ways:

- **agreement**: a sort one headline names that the other post says too (in any of its words) is evidence of one
  event, which lets two posts sharing a telling mark of their identity fold at a lower closeness
  (:mod:`digest.issue.stories`);
- **conflict**: each headline names sorts, and the other post says none of them anywhere: "Barn fire at Askby" /
  "What a night at the Askby quiz!". A headline naming no sort ("Mindless", "WE DID IT") says nothing either way.

Each sort's words are many and broad on purpose: a word of a sort said anywhere in the other post (a closed road
after a crash, firefighters at a rescue) rules the conflict out, so a rule that errs errs towards "one event".
"""

from __future__ import annotations

import re

from digest.issue.identity.marks import Marks

# Sort of event → its words (a regular expression over lower-case text, whole words). A word may belong to two
# sorts ("wins": an award and a match), then each sort counts.
_SORTS = {
    "fire": r"fires?|blaze[sd]?|flames?|alight|ablaze|burn(?:s|t|ed|ing)?|gutted|guts|arson|smoke",
    "crash": r"crash(?:es|ed)?|collisions?|collided?|overturn(?:s|ed)?|on (?:its|his|her) side|left the road|came off|"
    r"accidents?|(?:sheds?|spills?|spilled|spilt|lost|dumped) (?:its |his |her |a |the )?(?:whole )?(?:load|cargo|back end)|"
    r"fell from a lorry|pile-?up|knocked down|hit by",
    "closure": r"close[sd]?|closing|closures?|shut(?:s|ting)?|shut down|diversions?|detour",
    "reopening": r"re-?open(?:s|ed|ing)?|open(?:s|ed)? (?:its doors )?again|back open|open once more|back in business|"
    r"doors again",
    "opening": r"(?:re-?)?open(?:s|ed|ing)?|unveil(?:s|ed)?|launch(?:es|ed)?|cut the ribbon|ribbon|new home",
    "theft": r"theft|thefts|thieves|thief|stolen|steal(?:s|ing)?|stole|raid(?:s|ed)?|burglar(?:y|ies|s)?|burgled|"
    r"break-?ins?|broken? in(?:to)?|broke in(?:to)?|nicked|taken from|ram-raid(?:ed)?|put the door in",
    "damage": r"vandal(?:s|ised|ized|ism)?|smash(?:es|ed)?(?! (?:the |a |her |his |its |their )?(?:[\w'’-]+ )?record)|graffiti|damaged?|put the window through|mindless",
    "violence": r"assault(?:s|ed)?|attack(?:s|ed)?|punched|stabb(?:ed|ing)|fight|brawl|disorder|affray",
    "court": r"charged?|court|magistrates|jailed|sentenced|fined|guilty|bail|arrest(?:s|ed)?|prison|convicted",
    "injury": r"hurt|injur(?:ed|y|ies)|hospital|airlifted|ambulance",
    "death": r"died|dies|death|dead|killed|fatal|tributes?|rip|passed away|funeral",
    "rescue": r"rescue[sd]?|rescuing|airlifted|pulled from|winched|lifeboat|coastguard|"
    r"brought (?:back|down|home)|returned to|stretchered|went (?:straight )?in after",
    # a place or service kept: "post office saved", "pub saved by villagers", "staying open"
    "kept": r"saved|rescue[sd]?|keep (?:[\w'’]+ ){0,5}?open|kept open|secured|reprieved?|spared|staying|stay open|will stay|taken over|took over|bought|buy|shares|"
    r"community (?:business|pub|shop)",
    "missing": r"missing|lost (?:dog|cat|pet)|went missing|vanished|found|reunited|comes home",
    "flood": r"flood(?:s|ed|ing|water)?|under water|burst (?:its|their) banks",
    "works": r"roadworks|works|resurfac(?:e|ed|ing)|repairs?|repaired|temporary lights|digging|"
    r"pipes?|water main|gas main|contractors|restor(?:e|ed|ation)|refurbish(?:ed|ment)?|refit|renovat(?:e|ed|ion)|"
    r"rebuil(?:d|t)",
    "evacuation": r"evacuat(?:e|ed|es|ion|ions)|back home|scare|alert|made safe|cordon(?:ed)?",
    "fault": r"faults?|failures?|failed|broke down|broken down|breakdown|leak(?:s|ing|ed)?|burst",
    "supply": r"power cut|blacks? out|blackout|without (?:electricity|power|water)|taps|no water|lights out|supply",
    "decision": r"approv(?:e|ed|es|al)|backs|backed|go-ahead|green light|said yes|agreed|vote[sd]?|voting|refused|"
    r"reject(?:s|ed)?|thrown out|turned down|said no|permission|decided|adopt(?:s|ed)?",
    "appointment": r"appoint(?:s|ed|ment)?|elected|new (?:mayor|head|headteacher|coach|manager|vicar|priest|postmaster|"
    r"chair|owners?|landlord|landlady|chief)|take[s]? over|taking over",
    "departure": r"resign(?:s|ed|ation)?|stand(?:s|ing)? down|stood down|step(?:s|ped|ping)? down|quit(?:s)?|"
    r"retir(?:e|es|ing|ement)|farewell",
    "award": r"awards?|awarded|wins?|won|winners?|prizes?|honour(?:ed|s)?|named (?:the )?best|best [\w'’]+ in|title|"
    r"medal|trophy|mbe|obe|green flag|records?|celebrat(?:e|es|ed|ing|ion)",
    "inspection": r"ofsted|inspect(?:ors?|ion|ed)|rated|report",
    "money": r"rais(?:e|es|ed|ing)|fundrais(?:er|ing)|donat(?:e|ed|es|ion|ions)|sponsor(?:ed|ship)?|shares|bucket|"
    r"grants?|funding|funded|fund|lottery|money",
    "gathering": r"fair|festival|concert|show|quiz|sale|race|parade|open day|nativity|fete|fête|party|ceremony|"
    r"exhibition|gala|meeting",
    "price": r"rents?|fares?|charges|prices?|fees?|costs?|tickets?|dearer|rise|rises|increase[sd]?",
    "illness": r"poison(?:ed|ing)?|ill|illness|sick|outbreak|virus",
    "merger": r"merge[rsd]?|merging|amalgamat(?:e|ed|ion)",
    "cancellation": r"cancel(?:led|s)?|called off|postponed|scrapped|axed",
    "escape": r"escape[sd]?|on the loose|loose|rounded up|stray(?:ed)?",
    "match": r"beat|beats|win|wins|won|lose|loses|lost|defeat(?:ed)?|final|cup|league|semi-final|goals?|tries|"
    r"score[sd]?|victory|match|game",
}
_PATTERNS = {sort: re.compile(rf"(?<![\w£-])(?:{words})(?![\w-])") for sort, words in _SORTS.items()}
# Sorts too common in any local post to tell one event by agreeing (a meeting, a day out, money): they may still
# rule a conflict out.
_WEAK_SORTS = frozenset({"gathering", "money", "closure", "opening", "decision", "inspection"})
# Sorts that one event often has together, a cause and what follows from it: a crash shuts a road and hurts a driver,
# storm damage closes a theatre, a burst main leaves homes without water. One headline saying the cause and the
# other what followed is one event.
_LINKED_SAID = (
    "crash+closure crash+injury crash+death crash+court crash+rescue crash+damage "
    "fire+closure fire+damage fire+injury fire+death fire+rescue fire+court fire+cancellation "
    "flood+closure flood+damage flood+rescue flood+works flood+cancellation flood+supply "
    "damage+closure damage+works damage+theft damage+court damage+cancellation "
    "fault+closure fault+supply fault+works fault+damage fault+flood fault+cancellation "
    "works+closure works+supply works+reopening works+opening "
    "theft+court violence+court violence+injury death+court injury+rescue missing+rescue escape+closure "
    "death+injury death+rescue closure+cancellation closure+departure kept+reopening kept+opening kept+money "
    "decision+works decision+price decision+merger decision+closure decision+kept decision+opening "
    "evacuation+fault evacuation+fire evacuation+flood evacuation+closure evacuation+crash "
    "award+match award+inspection award+gathering money+gathering match+gathering"
)
_LINKED = frozenset(frozenset(pair.split("+")) for pair in _LINKED_SAID.split())
# What follows from many sorts of event, and so tells none of them apart by itself.
_FOLLOWING = frozenset({"closure", "injury", "death", "rescue", "cancellation", "evacuation", "supply", "court"})


def _sorts(text: str) -> frozenset[str]:
    """The sorts of event ``text`` speaks of (:data:`_SORTS`)."""
    lowered = text.lower().replace("’", "'")
    return frozenset(sort for sort, pattern in _PATTERNS.items() if pattern.search(lowered))


def _events_agree(a: Marks, b: Marks) -> frozenset[str]:
    """The telling sorts of event one headline names and the other post speaks of (:data:`_WEAK_SORTS` left out)."""
    return ((a.events & b.event_words) | (b.events & a.event_words)) - _WEAK_SORTS


def _events_differ(a: Marks, b: Marks) -> list[str]:
    """ "different event: fire / gathering" when each headline names sorts of event and the other post speaks of none
    of them anywhere, nor of one that goes with them (:data:`_LINKED`: "Theatre closed after roof leak" / "Storm
    damage at theatre")."""
    if not a.events or not b.events or _told(a.events, b.event_words) or _told(b.events, a.event_words):
        return []
    return [f"different event: {', '.join(sorted(a.events))} / {', '.join(sorted(b.events))}"]


def _told(headline: frozenset[str], said: frozenset[str]) -> bool:
    """Whether a post speaking of the sorts ``said`` tells an event of a headline naming ``headline``: the same sort, or
    a linked one (:data:`_LINKED`). What follows from an event (a road shut, a driver hurt) tells a headline that
    names only that, never one that names a cause: "Lorry crash closes A684" and "Roadworks on the A684" share a
    closed road, not an event."""
    causes = headline - _FOLLOWING
    if causes:
        return bool(causes & said) or any(frozenset((x, y)) in _LINKED for x in causes for y in said - _FOLLOWING)
    return bool(headline & said) or any(frozenset((x, y)) in _LINKED for x in headline for y in said)
