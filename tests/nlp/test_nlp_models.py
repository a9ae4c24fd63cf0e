"""Behaviour of the shipped models on texts whose labels nobody would dispute."""

import pytest

from chorus.nlp import Analyzer, analyze, detect_language
from chorus.nlp.labels import EMOTIONS, SENTIMENTS


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Le train a encore une heure de retard, c'est vraiment insupportable", "fr"),
        ("The delivery arrived two days late and the box was damaged", "en"),
        ("Der Kundenservice hat mir sehr schnell geholfen, vielen Dank", "de"),
        ("El servicio al cliente fue muy amable y rápido", "es"),
        ("Il servizio clienti è stato davvero gentile e veloce", "it"),
        ("O atendimento ao cliente foi muito rápido e simpático", "pt"),
    ],
)
def test_language_of_clear_sentences(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["", "ok", "😍😍😍", "@sncf https://t.co/x", "!!!"])
def test_language_is_undetermined_when_too_short(text):
    assert detect_language(text) == "und"


CLEAR_ENGLISH = [
    ("This is the worst airline ever, lost my bag and nobody cares", "negative"),
    ("Absolutely love the new update, great job team!", "positive"),
]
CLEAR_FRENCH = [
    ("Service client nul, trois semaines sans réponse, je suis furieux 😡", "negative"),
    ("Vraiment déçu, produit cassé au bout de deux jours, je suis très mécontent", "negative"),
    ("Merci beaucoup pour votre aide, l'équipe a été formidable ❤️", "positive"),
    ("Le magasin est ouvert de 9h à 19h du lundi au samedi.", "neutral"),
]


def test_accurate_sentiment_of_unambiguous_posts(analyzer):
    cases = CLEAR_ENGLISH + CLEAR_FRENCH
    results = analyzer.analyze([text for text, _ in cases])
    assert [r["sentiment"] for r in results] == [label for _, label in cases]


def test_fast_sentiment_of_unambiguous_posts(analyzer):
    # The fast path learnt French from 1,800 mostly political tweets: it reads English
    # complaints and French praise, not French complaints (see the model card).
    cases = [*CLEAR_ENGLISH, ("Super accueil, merci à toute l'équipe, je recommande !", "positive")]
    results = analyzer.analyze([text for text, _ in cases], path="fast")
    assert [r["sentiment"] for r in results] == [label for _, label in cases]


def test_emotions_of_unambiguous_posts_in_french_and_english(analyzer):
    texts = {
        "anger": "Je suis furieux contre ce service client, c'est scandaleux et inadmissible 😡",
        "joy": "Trop heureuse, on part en vacances demain, merci pour ce super séjour 😍",
        "fear": "J'ai vraiment peur, je suis terrifiée à l'idée de prendre l'avion demain",
        "sadness": "Notre chien est mort ce matin, je suis tellement triste 😢",
        "disgust": "There was a dead cockroach in my soup, absolutely disgusting 🤮",
    }
    results = analyzer.analyze(list(texts.values()))
    assert [r["emotion"] for r in results] == list(texts)


def test_result_shape_and_probabilities(analyzer):
    result = analyzer.analyze(["Bonjour, le colis est arrivé."], path="fast")[0]
    assert set(result) == {"lang", "sentiment", "sentiment_scores", "emotion", "emotions"}
    assert list(result["sentiment_scores"]) == list(SENTIMENTS)
    assert list(result["emotions"]) == list(EMOTIONS)
    assert abs(sum(result["sentiment_scores"].values()) - 1) < 1e-3
    assert all(0 <= p <= 1 for p in result["emotions"].values())


def test_duplicates_get_the_result_of_their_original(analyzer):
    texts = [
        "Encore une panne de fibre chez moi depuis trois jours, aucune explication du tout",
        "Merci pour la livraison rapide",
        "RT @voisine: Encore une panne de fibre chez moi depuis trois jours, aucune explication",
    ]
    results = analyzer.analyze(texts)
    assert results[2] == results[0]
    assert analyzer.last_saved_share == pytest.approx(1 / 3)


def test_module_level_analyze_uses_the_requested_path():
    text = "I hate this product, a total scam"
    assert analyze([text], path="fast")[0]["sentiment"] == "negative"
    assert analyze([text])[0]["sentiment"] == "negative"


def test_empty_batches_and_blank_texts(analyzer):
    assert analyzer.analyze([]) == []
    blank = analyzer.analyze(["", "   "], path="fast")
    assert [r["lang"] for r in blank] == ["und", "und"]
