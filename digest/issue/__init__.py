"""The pipeline stages from posts to a Weekly Digest: pure functions of typed values, no I/O but the editor's file.

::

    slots.py      the schedule's fire times: which slot, so which window, a moment means
    selection.py  the window, the exclusion rules, duplicates
    editorial.py  the editor's issue file (pin, exclude, include, theme, note, subject, intro)
    stories.py    one story told by several outlets: shown once, "Also in" the others
    identity/     what tells two events apart when their meaning is close: figures, dates, places, people, outcomes
    grouping.py   themes (the classifier's judgement, closeness, keywords by their stems, tags, the editor's word) and outlets
    language.py   which language a post is in (py3langid), and the posts not in the newsletter's: said, not moved
    assembly.py   gather → select → curate → group: the Digest of a window
    links.py      the links clicks are counted on ([tracking] clicks), numbered, and the copy that shows the redirect
    meaning/      placing by meaning: sentence embeddings on ONNX Runtime (cached), the classifier learnt from
                  labelled posts; it reads the values and the settings, never the stages above (a contract)
"""
