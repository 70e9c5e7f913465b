# ruff: noqa: E501 (each paragraph of a text is one line, as an admin edits it)
"""The communication kit's built-in texts, in Zegel's own words (zegel.orgs.kit renders them).

Each text is plain text with a light structure: a blank line between blocks; a block of one line
starting with "# " is a heading; a block whose lines all start with "- " is a list; any other
block is a paragraph. {name} is a placeholder, {if name} … {endif} a part shown only when the
condition holds (the documented ones: zegel.orgs.kit.PLACEHOLDERS and CONDITIONS).
"""

from __future__ import annotations

BUILT_IN: dict[str, dict[str, str]] = {
    "colleagues": {
        "nl": """\
# Vanaf {start_date} mailen we vertrouwelijke gegevens via Zegel

Beste collega,

Vanaf {start_date} verstuurt {organisation} berichten met persoonsgegevens of andere gevoelige informatie via Zegel. Zegel versleutelt het bericht en de bijlagen. De ontvanger krijgt een melding per e-mail en opent het bericht pas nadat hij of zij heeft bewezen wie hij of zij is.

# Inloggen en je account beveiligen

- Ga naar {login_url} en log in met je werkadres.
- Stel meteen een tweede stap in: een app op je telefoon die codes maakt, of een passkey.
- Bewaar de herstelcodes op een veilige plek; daarmee kom je binnen als je telefoon kwijt is.

# Een bericht versturen

- Kies in Zegel voor "Nieuw bericht" en vul de ontvangers, het onderwerp en de tekst in.
- Kies per ontvanger hoe die zich bewijst: {methods}.
- Zegel waarschuwt als een bericht gevoelige gegevens lijkt te bevatten en nog niet beveiligd wordt verstuurd.
- Antwoorden van ontvangers komen terug in Zegel, onder "Inbox".

# Vragen

Heb je vragen of werkt iets niet? Mail naar {contact_email} of bel {contact_phone}.
""",
        "en": """\
# From {start_date} we send confidential information through Zegel

Dear colleague,

From {start_date}, {organisation} sends messages containing personal data or other sensitive information through Zegel. Zegel encrypts the message and its attachments. The recipient is told by e-mail and opens the message only after proving who they are.

# Logging in and protecting your account

- Go to {login_url} and log in with your work address.
- Set up a second step straight away: an app on your phone that makes codes, or a passkey.
- Keep the recovery codes somewhere safe; they let you in when your phone is lost.

# Sending a message

- In Zegel, choose "New message" and fill in the recipients, the subject and the text.
- Choose for each recipient how they prove who they are: {methods}.
- Zegel warns you when a message seems to contain sensitive data and is about to go out unprotected.
- Replies from recipients come back into Zegel, under "Inbox".

# Questions

Questions, or something does not work? Write to {contact_email} or call {contact_phone}.
""",
    },
    "clients": {
        "nl": """\
# Korte versie

Vanaf {start_date} stuurt {organisation} vertrouwelijke informatie via Zegel, een beveiligde verbinding. U krijgt dan een e-mail met een link naar het bericht. Twijfelt u of zo'n e-mail echt van ons komt? Kijk op {web_page}.

# Uitgebreide versie

Wij gaan zorgvuldig om met uw gegevens. Daarom sturen wij vanaf {start_date} berichten met persoonlijke of vertrouwelijke informatie niet meer als gewone e-mail, maar via Zegel.

# Hoe ziet zo'n bericht eruit?

U ontvangt een e-mail van {organisation} via Zegel. Daarin staat wie u iets stuurt en een knop om het bericht te openen. In de e-mail zelf staat nooit de inhoud van het bericht.

# Zo opent u het bericht

U bewijst eerst dat het bericht voor u bestemd is. Wij gebruiken daarvoor: {methods}.

{if method_sms}- Sms-code: u krijgt een code per sms op het mobiele nummer dat wij van u hebben.
{endif}{if method_access_code}- Toegangscode: een vaste code die u van ons per brief of persoonlijk hebt gekregen.
{endif}{if method_email_code}- E-mailcode: u krijgt een code in een tweede e-mail.
{endif}
Wij vragen u nooit om een wachtwoord, uw DigiD of bankgegevens.

# Uw gegevens wijzigen

Is uw mobiele nummer of e-mailadres veranderd? {contact_change_procedure}

# Vragen

Mail naar {contact_email} of bel {contact_phone}. Meer uitleg staat op {web_page}.
""",
        "en": """\
# Short version

From {start_date}, {organisation} sends confidential information through Zegel, a secure connection. You will receive an e-mail with a link to the message. Not sure such an e-mail really comes from us? See {web_page}.

# Extended version

We take care of your information. That is why, from {start_date}, we no longer send messages with personal or confidential information as ordinary e-mail, but through Zegel.

# What such a message looks like

You receive an e-mail from {organisation} via Zegel. It says who is sending you something and has a button to open the message. The e-mail itself never contains the message.

# How to open the message

First you show that the message is meant for you. We use: {methods}.

{if method_sms}- SMS code: a code is texted to the mobile number we have for you.
{endif}{if method_access_code}- Access code: a fixed code you received from us by letter or in person.
{endif}{if method_email_code}- E-mail code: a code arrives in a second e-mail.
{endif}
We never ask you for a password, your DigiD or your bank details.

# Changing your details

Has your mobile number or e-mail address changed? {contact_change_procedure}

# Questions

Write to {contact_email} or call {contact_phone}. More explanation is at {web_page}.
""",
    },
    "explanation": {
        "nl": """\
{organisation} stuurt u dit bericht via Zegel omdat het vertrouwelijke informatie bevat. Zo kan alleen u het lezen. Wij vragen u nooit om een wachtwoord of bankgegevens. Twijfelt u? Kijk op {web_page} of bel {contact_phone}.
""",
        "en": """\
{organisation} sends you this message through Zegel because it contains confidential information, so that only you can read it. We never ask you for a password or bank details. In doubt? See {web_page} or call {contact_phone}.
""",
    },
    "info_page": {
        "nl": """\
# Veilig berichten ontvangen van {organisation}

{organisation} stuurt vertrouwelijke informatie via Zegel. Op deze pagina leest u hoe u zo'n bericht opent en hoe u controleert of het echt van ons komt.

# Een bericht openen

- Klik in de e-mail op de knop om het bericht te bekijken.
- Bewijs dat het bericht voor u is, op een van deze manieren: {methods}.
- Lees het bericht, download de bijlagen en antwoord desgewenst in hetzelfde venster.

{if method_sms}# Sms-code

U krijgt een code van zes cijfers per sms. De code is kort geldig; vraag zo nodig een nieuwe aan.

{endif}{if method_access_code}# Toegangscode

Een vaste code die u van {organisation} hebt gekregen, per brief of persoonlijk. Bewaar hem goed en geef hem aan niemand.

{endif}{if method_email_code}# E-mailcode

U krijgt een code in een tweede e-mail op hetzelfde adres.

{endif}# Is het bericht echt?

- De link in de e-mail gaat naar het adres van Zegel voor {organisation}.
- In de e-mail staat nooit de inhoud van het bericht.
- Wij vragen nooit om een wachtwoord, DigiD of bankgegevens.
- Twijfelt u, klik dan niet en neem contact met ons op.

# Gegevens wijzigen

{contact_change_procedure}

# Contact

E-mail: {contact_email}. Telefoon: {contact_phone}.
""",
        "en": """\
# Receiving secure messages from {organisation}

{organisation} sends confidential information through Zegel. This page explains how to open such a message and how to check that it really comes from us.

# Opening a message

- In the e-mail, click the button to view the message.
- Show that the message is meant for you, in one of these ways: {methods}.
- Read the message, download the attachments and, if you wish, reply in the same window.

{if method_sms}# SMS code

A six-digit code is texted to you. It is valid for a short time; ask for a new one if needed.

{endif}{if method_access_code}# Access code

A fixed code you received from {organisation}, by letter or in person. Keep it safe and give it to no one.

{endif}{if method_email_code}# E-mail code

A code arrives in a second e-mail to the same address.

{endif}# Is the message genuine?

- The link in the e-mail leads to Zegel's address for {organisation}.
- The e-mail never contains the message itself.
- We never ask for a password, DigiD or bank details.
- In doubt, do not click and contact us.

# Changing your details

{contact_change_procedure}

# Contact

E-mail: {contact_email}. Phone: {contact_phone}.
""",
    },
    "news": {
        "nl": """\
# {organisation} mailt voortaan beveiligd

Vanaf {start_date} verstuurt {organisation} vertrouwelijke berichten via Zegel. Daarmee beschermen we de gegevens van cliënten, patiënten en partners beter dan met gewone e-mail.

Ontvangers krijgen een e-mail met een link en openen het bericht met een extra controle: {methods}. Medewerkers versturen vanuit Zegel of vanuit hun eigen mailprogramma.

Meer weten? Lees {web_page} of neem contact op via {contact_email}.
""",
        "en": """\
# {organisation} now sends its e-mail securely

From {start_date}, {organisation} sends confidential messages through Zegel. That protects the information of clients, patients and partners better than ordinary e-mail does.

Recipients receive an e-mail with a link and open the message after an extra check: {methods}. Staff send from Zegel or from their own mail program.

Want to know more? Read {web_page} or contact us at {contact_email}.
""",
    },
    "access_code_letter": {
        "nl": """\
# Uw toegangscode voor berichten van {organisation}

Beste {client_name},

{organisation} stuurt u vertrouwelijke berichten via Zegel. Om zo'n bericht te openen gebruikt u de toegangscode hieronder.

Uw toegangscode: {access_code}

- Klik in de e-mail die u van ons krijgt op de knop om het bericht te bekijken.
- Vul de toegangscode in wanneer daarom gevraagd wordt.
- Bewaar deze brief op een veilige plek en geef de code aan niemand.

Kwijt of denkt u dat iemand anders de code kent? Neem dan contact met ons op: {contact_email}, {contact_phone}. Wij maken dan een nieuwe code; de oude werkt daarna niet meer.

Met vriendelijke groet,

{organisation}
""",
        "en": """\
# Your access code for messages from {organisation}

Dear {client_name},

{organisation} sends you confidential messages through Zegel. To open such a message you use the access code below.

Your access code: {access_code}

- In the e-mail you receive from us, click the button to view the message.
- Enter the access code when asked for it.
- Keep this letter somewhere safe and give the code to no one.

Lost it, or do you think someone else knows the code? Contact us: {contact_email}, {contact_phone}. We then make a new code; the old one stops working.

Kind regards,

{organisation}
""",
    },
    "nta7516_letter": {
        "nl": """\
# Veilig mailen in de keten: NTA 7516

Geachte relatie,

{organisation} wisselt met u regelmatig gegevens uit over cliënten of patiënten. Voor zulke uitwisseling per e-mail geldt in de zorg de norm NTA 7516.

# Wat vraagt de norm?

- Berichten worden versleuteld verstuurd en opgeslagen.
- De ontvanger wordt vooraf gecontroleerd, bijvoorbeeld met een code per sms.
- Verzender en ontvanger kunnen aantonen wat wanneer is verstuurd en geopend.
- Een verkeerd verstuurd bericht kan worden ingetrokken.

# Waarom beide kanten?

Een bericht is pas veilig als het ook veilig aankomt en veilig wordt beantwoord. Daarom vragen wij u om ook een oplossing te gebruiken die aan de norm voldoet, of onze berichten via Zegel te openen en te beantwoorden.

{organisation} gebruikt daarvoor Zegel, vanaf {start_date}.

{if nta7516}Onze verklaring over NTA 7516 is openbaar: {nta7516_record}.

{endif}Vragen? Mail naar {contact_email} of bel {contact_phone}.

Met vriendelijke groet,

{organisation}
""",
        "en": """\
# Secure e-mail between care providers: NTA 7516

Dear colleague,

{organisation} regularly exchanges information about clients or patients with you. In Dutch healthcare such exchange by e-mail falls under the standard NTA 7516.

# What the standard asks

- Messages are sent and stored encrypted.
- The recipient is checked first, for example with a code by SMS.
- Sender and recipient can show what was sent and opened when.
- A message sent to the wrong person can be withdrawn.

# Why both sides

A message is only safe when it also arrives safely and is answered safely. So we ask you to use a solution that meets the standard too, or to open and answer our messages through Zegel.

{organisation} uses Zegel for this, from {start_date}.

{if nta7516}Our NTA 7516 statement is public: {nta7516_record}.

{endif}Questions? Write to {contact_email} or call {contact_phone}.

Kind regards,

{organisation}
""",
    },
}
