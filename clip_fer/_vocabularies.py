"""Built-in prompt vocabularies, kept as plain data (tuples and dicts of tuples).

Sources
-------
REPORT_*
    The project report (Reitzfeld and Yitzhak, "C.U Emotion's recognition", Afeka,
    April 2022), dictionary "3 templates 3 labels 1", its best configuration. The
    report prints the third template without its blank; the placeholder is restored
    from the report's own listing of the generated sentences ("A photo of a
    frightened face, a type of expression").
OPENAI_FER2013_*
    The FER2013 class names and templates of ``data/prompts.md`` in the openai/CLIP
    repository, with each class keyed by its FER2013 folder name.
BASELINE_*
    OpenAI's first FER2013 template with one word per class, the adjective of its
    class name: the single-prompt baseline of zero-shot CLIP evaluations.
CONTEMPT_*
    The eighth class of AffectNet-8, FERPlus and CK+. The words are from Princeton
    WordNet 3.0: "contemptuous" and "scornful" (the adjectives of its noun synset
    contempt, disdain, scorn, despite) and "sneering" (its "sneer: a facial
    expression of contempt or scorn; the upper lip curls").
"""

FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
# The Kaggle CSV's ``emotion`` codes 0..6, in code order.
FER2013_CSV_CODES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

REPORT_TEMPLATES = (
    "person with ____ look ",
    "this is ____ person",
    "A photo of a ____ face, a type of expression",
)

# Spellings exactly as printed in the report ("furios", "nervus", ...).
REPORT_SYNONYMS = {
    "angry": ("annoyed", "furios", "frown"),
    "disgust": ("rejected", "dislike", "distaste"),
    "fear": ("scary", "nervus", "fearness"),
    "happy": ("glad", "happy", "thrilled"),
    "neutral": ("non emotinal", "expressionless", "blank"),
    "sad": ("pitiful", "miserable", "sad"),
    "surprise": ("shocked", "surprise", "astonished"),
}

# The same words with the report's misspellings corrected.
REPORT_SPELLING_FIXES = {
    "furios": "furious",
    "nervus": "nervous",
    "fearness": "fearful",
    "non emotinal": "non emotional",
}
REPORT_SYNONYMS_CORRECTED = {
    cls: tuple(REPORT_SPELLING_FIXES.get(word, word) for word in words)
    for cls, words in REPORT_SYNONYMS.items()
}

# Every template and word the report shows (its printed dictionaries and sentence
# listings). The report drew its experiment configurations from pools like these; its
# fifth template is not legible in the report, so the template pool has four.
REPORT_TEMPLATE_POOL = REPORT_TEMPLATES + ("____ face",)
REPORT_SYNONYM_POOL = {
    "angry": ("annoyed", "furios", "frown", "outraged", "angry", "angered"),
    "disgust": ("rejected", "dislike", "distaste", "disgust"),
    "fear": ("scary", "nervus", "fearness", "fear", "frightened"),
    "happy": ("glad", "happy", "thrilled", "pleased", "delighted", "joyful"),
    "neutral": ("non emotinal", "expressionless", "blank", "neutral"),
    "sad": ("pitiful", "miserable", "sad", "tragic", "unfortunate"),
    "surprise": ("shocked", "surprise", "astonished", "amazed", "stunned"),
}
# The same pool with the report's misspellings corrected, word for word in the same
# positions, so a seeded draw from either pool picks the same words.
REPORT_SYNONYM_POOL_CORRECTED = {
    cls: tuple(REPORT_SPELLING_FIXES.get(word, word) for word in words)
    for cls, words in REPORT_SYNONYM_POOL.items()
}

# The report's two other printed dictionaries, "1 templates 1 labels 1" and "3 templates
# 3 labels 3". Their blanks are printed lost or garbled ("' face'", "'this is _ person'",
# "'person with look '"); they are restored from the template pool above.
REPORT_DICTIONARY_1_1_1 = (
    ("A photo of a ____ face, a type of expression",),
    {
        "angry": ("outraged",),
        "disgust": ("dislike",),
        "fear": ("nervus",),
        "happy": ("pleased",),
        "neutral": ("neutral",),
        "sad": ("pitiful",),
        "surprise": ("amazed",),
    },
)
REPORT_DICTIONARY_3_3_3 = (
    ("____ face", "this is ____ person", "person with ____ look "),
    {
        "angry": ("angry", "furios", "frown"),
        "disgust": ("distaste", "disgust", "rejected"),
        "fear": ("fearness", "fear", "nervus"),
        "happy": ("happy", "thrilled", "delighted"),
        "neutral": ("blank", "neutral", "expressionless"),
        "sad": ("tragic", "sad", "unfortunate"),
        "surprise": ("stunned", "amazed", "shocked"),
    },
)

# The usual single-prompt zero-shot baseline: one template, each class's adjective.
BASELINE_TEMPLATES = ("a photo of a {} looking face.",)
BASELINE_SYNONYMS = {
    "angry": ("angry",),
    "disgust": ("disgusted",),
    "fear": ("fearful",),
    "happy": ("happy",),
    "neutral": ("neutral",),
    "sad": ("sad",),
    "surprise": ("surprised",),
}

# The eighth class, as words for the report's bank (three words, as its other classes
# have) and for the baseline (the adjective of the class name).
CONTEMPT_SYNONYMS = ("contemptuous", "scornful", "sneering")
CONTEMPT_BASELINE = ("contemptuous",)
REPORT_SYNONYMS_CORRECTED_8 = {**REPORT_SYNONYMS_CORRECTED, "contempt": CONTEMPT_SYNONYMS}
BASELINE_SYNONYMS_8 = {**BASELINE_SYNONYMS, "contempt": CONTEMPT_BASELINE}

OPENAI_FER2013_TEMPLATES = (
    "a photo of a {} looking face.",
    "a photo of a face showing the emotion: {}.",
    "a photo of a face looking {}.",
    "a face that looks {}.",
    "they look {}.",
    "look at how {} they are.",
)
OPENAI_FER2013_SYNONYMS = {
    "angry": ("angry",),
    "disgust": ("disgusted",),
    "fear": ("fearful",),
    "happy": ("happy", "smiling"),
    "neutral": ("neutral", "bored"),
    "sad": ("sad", "depressed"),
    "surprise": ("surprised", "shocked", "spooked"),
}

# The report's second category.
GENDER_TEMPLATES = ("This is a photo of a ____ person",)
GENDER_SYNONYMS = {"female": ("female",), "male": ("male",)}
