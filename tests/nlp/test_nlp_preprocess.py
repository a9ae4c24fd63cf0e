from chorus.nlp.dedupe import representatives, saved_share
from chorus.nlp.preprocess import MAX_CHARS, duplicate_key, normalize, split_hashtag


def test_links_and_handles_become_the_placeholders_of_the_training_corpora():
    text = normalize("@EDF_officiel regardez https://t.co/AbC123 et www.edf.fr/offres")
    assert text == "@user regardez http et http"


def test_hashtags_are_split_on_case_and_digits():
    assert split_hashtag("JeSuisFurieux") == "Je Suis Furieux"
    assert split_hashtag("greve2024") == "greve 2024"
    assert normalize("#PasContent de #EDF") == "Pas Content de EDF"


def test_stretched_letters_and_punctuation_are_capped_but_emoji_kept():
    assert normalize("Trooooop bien !!!!!!! 😍😍😍😍😍") == "Troop bien !!! 😍😍😍"


def test_repost_prefix_and_html_entities_are_removed():
    assert normalize("RT @sncf: Trains &amp; bus perturbés") == "Trains & bus perturbés"


def test_long_texts_are_truncated():
    assert len(normalize("mot " * 2000)) <= MAX_CHARS


def test_reposts_share_a_duplicate_key():
    original = normalize("Coupure de courant depuis ce matin !")
    repost = normalize("RT @voisin: coupure de courant depuis ce matin https://t.co/x")
    assert duplicate_key(original) == duplicate_key(repost)
    assert duplicate_key(normalize("Coupure de courant 😡")) != duplicate_key(
        normalize("Coupure de courant 😍")
    )


def test_near_duplicate_campaign_texts_are_grouped_and_distinct_texts_are_not():
    campaign = "Boycott de la marque, ils augmentent encore les prix de 20% cet hiver sans prévenir"
    texts = [
        normalize(campaign),
        normalize(f"RT @a: {campaign} https://t.co/1"),
        normalize(f"{campaign} personne !! 😡"),
        normalize("Le service client m'a rappelé en dix minutes, merci beaucoup à toute l'équipe"),
        normalize("ok"),
        normalize("OK !"),
    ]
    groups = representatives(texts)
    assert groups == [0, 0, 0, 3, 4, 4]
    assert saved_share(groups) == 0.5
