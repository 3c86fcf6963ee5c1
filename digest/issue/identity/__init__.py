"""What makes two posts the same event, beyond their topic: the marks an event's telling cannot change.

Closeness of meaning measures topic, not event (design notes: one story told two ways ran 0.37–0.72, different
stories in similar words 0.32–0.86). What tells events apart is what differs: the day it happens on, the street or
the named place, the people, the verdict. So two posts whose meaning is close fold into one story only when none of
these conflict (:func:`conflicts`), and the reason names what matched (:func:`agreements`) and what differed.

The marks are read by careful rules, English words only (a newsletter in another language gets no such marks, and so
folds as it did before). Rules rather than a model: spaCy's trained pipelines are not on PyPI and a model fetched
from a hub cannot be loaded here, and the marks wanted are few and mostly announced by a word (Street, Councillor,
Ltd, a month's name), which a rule reads as well and explains better. Each rule is written so that it says nothing
rather than a wrong conflict: one story told by two outlets must still fold.

- **figures**, as numbers: "1,500" and "1500" are one figure, "£2.50" and "2.50" too, "ten" is 10; two headlines
  conflict when each has a figure the other lacks (a council meeting on the 17th and one on the 18th; a headline
  that adds a year to the other's figures does not). A figure agrees with another only when equal, or one is the
  other rounded to its last figure (4.99 and 5, 1,512 and 1,500), or, said to be rounded, within a tenth: the years
  2024 and 2025, or the 428 and the 431 bus, are two;
- **weekdays** (in full or short: "Tue 3 March", "Mon and Tue") and **dates** ("14 March", "March 14th", "on the
  14th"): a conflict when both give one and none is common (a date without its month agrees with any date on that
  day);
- **results** ("3-1", "by 24 points to 17") and **ordinals** with what they count ("its first green flag" / "its
  third"): a conflict when both give one of a kind and none agrees;
- **named places** and **named bodies**: capitalised names ending in a word that says what they are (Bridge Street,
  Oakfield Primary; Harbour Buses, Riverside Trust, Harbour Town FC): two posts that each name such places (or
  bodies), none in common, and one name sharing a word with the other's, are about two places (or two bodies);
- **people** with a title that says their part (Councillor Jane Ayres, Cllr Ayres, Dr Shah, the Mayor Tom Hill):
  two posts naming people of one part and none in common, one of them in a headline, or each text opening with its
  own ("Councillor Dylan Rees has stepped down…" / "Councillor Sian Parri has resigned…"). A resident quoted by one
  outlet and a councillor by the other is one story; so are two councillors quoted in the text of two reports of one
  debate, which is why a text opening with a person who speaks ("Cllr Ayres said…") says only a voice. A name said
  short is the long one ("Killyreagh Primary" / "Killyreagh Primary School"). And people named in full without a
  title: each text opening on its own, whom the other never mentions ("Retained firefighter Ken Dinsdale was
  presented…" / "Well done to Sue Pickersgill…"), unless speaking there;
- **towns**: each post saying what it happens in ("in Pelworthy" / "here in Lanhallow"), neither mentioning the
  other's; a town said short ("Aber" for "Abergwyddon") is the town, here and in the headline names;
- **outcomes**: opposite verdicts (approved / rejected, outstanding / told to improve, charged / sentenced; and in
  the headlines, where the words are less ambiguous: opens / closes, wins / loses, rises / falls, saved / axed, a
  plan submitted / decided): one post saying only one, the other only the other; a headline's one side outweighs
  its text's background ("Revised plan approved… after the first was rejected"), and a verdict's word inside a name
  ("Fell Street") says none;
- **headline names**: each headline names a place or body (a capitalised word; its first word only when the text
  starts a name with it) that the other post never mentions at all: "Drumlea library to open on Sundays" and
  "Ballykerrin library…". One outlet naming the town and the other a street, or nothing, is no conflict;
- **names of one town's two things**: "Kilmacreagh Co-operative Creamery" and "Kilmacreagh Meats", names without a
  kind word the place and body rules know, sharing the town's word (said alone in the posts too) and neither
  holding the other;
- **kinds**: headlines naming different kinds of one thing (jazz / folk, gas / water, football / rugby, a book
  festival / a music festival), from a small table of siblings whose synonyms count as one kind (writers', book,
  literary), so that a word that merely differs does not part one story told in other words;
- **figures with what they count** anywhere in a post ("£1.8m" / "£1.1m", "€80,000" / "€50,000", "six bells" /
  "eight bells", "3%" / "7%", 5,000 people / 6,500 visitors: words that count people are one unit):
  a conflict when none of one's agrees with the other's and the nearest are within a factor of three (a £5 ticket
  and £45,000 raised are one event's figures); "4.99%" and "near-5%" agree (a rounded or hedged figure), and
  "forty-eight grand" is £48,000;
- **parts of the day** ("in the early hours" / "at teatime"), against each other and the clock, within an hour;
- **times of day** ("11pm", "4.15pm", "19:30") and **ages** ("a 24-year-old", "aged 34", "Tom Aske, 27,", "in her
  forties"), anywhere in a post: a conflict when both give one and none of one's is within an hour of the other's
  (times) or meets the other's span (ages): a car set alight at 11pm and one at 2am, a man in his sixties rescued and
  a woman in her forties. Only one post saying either is no conflict;
- **modifiers of one thing** in the headlines ("gas main" / "water main", "car fire" / "van fire", "Staithe bakery" /
  "Staithe butcher"), each differing word one the other post never uses; words that only praise or size (record,
  bumper) tell no thing apart;
- **a word swapped in one headline pattern**, the last resort: headlines alike in half their words, in order, with
  a word in one's place the other post never uses ("Quiz night at the Ship Inn…" / "Comedy night at the Ship
  Inn…"; man / woman; GAA / rugby club). It needs no table, so it reaches siblings no table lists; a headline's
  generic verbs (returns / comes), one verdict's two words and one kind's synonyms are no swap; and headlines in one
  frame, less alike, whose subjects (first telling words) the other post never uses ("Jazz quartet to headline…" /
  "Folk evening returns to…"; "Gas main repair shuts…" / "Water main work closes…");
- **sorts of event** (:mod:`digest.issue.identity.events`): a fire, a theft, a crash, a new mayor, a quiz, read from a
  small table of event words whose synonyms count as one (blaze, flames and fire; a raid, a break-in and "nicked"):
  each headline naming sorts the other post never speaks of, nor one linked to them (a crash and the road shut; storm
  damage and a theatre closed), is a conflict ("Barn fire at Askby" / "What a night at the Askby quiz!"); what follows
  from an event (a road shut, a driver hurt) never tells a headline naming its cause. A sort one headline names and
  the other post speaks of (:func:`events_agree`) is evidence of one event told in two voices: beside a telling mark,
  it counts as one more (:mod:`digest.issue.stories`);
- **proper names** within a sentence (Kelsham, Holt): not a conflict, but each kind of telling mark two posts share
  (place, body, person, name few of the issue's posts use, date, figure) lowers the closeness needed to fold;
- **anchors** (:func:`anchors`): what two posts share of their event that many events share too (a weekday, a
  month, a small figure, a time, a figure told two ways, an age, a name said short, the issue's town). Two posts
  that share neither an anchor nor a telling mark are never one story by meaning (:mod:`digest.issue.stories`).

The rules live in modules by what they own, and this package says them as one:

    vocabulary.py      the words the rules share (weekdays, months, kind words, titles, words that are no name)
    marks.py           Marks, what a post says of its event; Quantity, a figure with what it counts
    numbers.py         figures and quantities: read, and whether two may be one told twice
    dates.py           weekdays, dates, times of day, ages, results: read and compared
    ordinals.py        ordinals with what they count, parts of the day
    names.py           places, bodies, people, towns, proper names: read
    names_compared.py  whether two posts' names tell two events
    headlines.py       outcomes, kinds, a word swapped in one pattern, a subject in one frame
    events.py          sorts of event (fire, theft, crash…): read from a table of synonyms, agreed or differing
    said.py            how a mark is said back in a reason
    reading.py         marks_of: all of a post's marks at once
    comparing.py       conflicts, agreements, telling, anchors, events_agree
"""

from __future__ import annotations

from digest.issue.identity.comparing import agreements, anchors, conflicts, events_agree, shared_names, telling
from digest.issue.identity.dates import CLOCK_SLACK
from digest.issue.identity.headlines import SUBJECT_ALIKE, SWAPPED_ALIKE
from digest.issue.identity.marks import Marks, Quantity
from digest.issue.identity.names_compared import SHORT_NAME
from digest.issue.identity.numbers import figures
from digest.issue.identity.reading import marks_of

__all__ = [
    "CLOCK_SLACK",
    "SHORT_NAME",
    "SUBJECT_ALIKE",
    "SWAPPED_ALIKE",
    "Marks",
    "Quantity",
    "agreements",
    "anchors",
    "conflicts",
    "events_agree",
    "figures",
    "marks_of",
    "shared_names",
    "telling",
]
