# ruff: noqa: E501 - message bodies are prose paragraphs; wrapping them would change the text.
"""Message templates for make_corpus.py: [token] is filled in, [med:cat] plants a labelled term."""

NL = [
    """Geachte collega,

Hierbij verwijs ik mevrouw [name], BSN [bsn], naar uw spreekuur. Zij is bekend met [med:diag] en gebruikt [med:med]. Graag uw advies over het verdere beleid.

Met vriendelijke groet,
huisarts [name], [org]""",
    """Beste [first],

Zoals besproken stuur ik je de gegevens van cliënt [name] (burgerservicenummer: [bsn]). Er is sprake van [med:mental] en de cliënt staat op de wachtlijst bij de [med:mental].

Groet, [first]
Wijkteam [city]""",
    """Onderwerp: Uitnodiging gesprek

Geachte heer [last],

Wij nodigen u uit voor een gesprek op [date] om [time] uur op ons kantoor in [city]. Wilt u uw legitimatie meenemen?

Met vriendelijke groet,
[org]""",
    """Hallo,

Bedankt voor je bestelling bij [shop]! Je ordernummer is [nine]. Het totaalbedrag van [amount] is afgeschreven. Je pakket wordt bezorgd op [date], trackingcode [track].

Vragen? Bel onze klantenservice.""",
    """Geachte mevrouw [last],

Hierbij ontvangt u de factuur met factuurnummer [invoice] voor een bedrag van [amount]. Wij verzoeken u het bedrag binnen 14 dagen over te maken op rekening [iban] t.n.v. [org], onder vermelding van klantnummer [nine].

Met vriendelijke groet,
Financiële administratie""",
    """Beste [first],

Kun je het voorschot van [amount] overmaken naar [iban]? Dan kunnen we de zaal voor [date] reserveren.

Groetjes, [first]""",
    """Let op: het rekeningnummer [badiban] in de vorige mail klopte niet. Het juiste nummer volgt morgen. Excuses voor het ongemak.

Team [shop]""",
    """Geachte heer/mevrouw,

In het kader van de [med:youth] voor het gezin [last] ontvangt u hierbij het verslag. Het kind [name], geboren op [dob], verblijft sinds [date] in een [med:youth]. De [med:youth] heeft contact met de moeder.

Met vriendelijke groet,
[org]""",
    """Aan: {{Raad voor de Kinderbescherming}}
Betreft: [name], BSN [bsn]

Na melding bij {{Veilig Thuis}} is besloten tot een onderzoek. Moeder heeft een [med:mental] en vader heeft een [med:crime]. Wij adviseren een [med:youth].

[org]""",
    """Geachte mr. [last],

In de zaak van cliënt [name] (sofinummer [bsn]) stuur ik u het dossier. Cliënt is eerder [med:crime] en heeft een [med:crime]. Ons kenmerk: [nine]. Zaaknummer [invoice].

Met vriendelijke groet,
[org]""",
    """Beste collega's,

De teamvergadering van [date] wordt verplaatst naar [time] uur. Agenda: jaarplanning, het nieuwe roosterprogramma en de kerstborrel. Graag even reageren vóór vrijdag.

Groet, [first]""",
    """Hoi [first], mijn nieuwe nummer is [phone]. Bel me maar na [time] uur. Groet [first]""",
    """Geachte [name],

Uw aanvraag voor bijzondere bijstand is in behandeling genomen. Uw dossiernummer is [nine]. De behandeling van uw aanvraag duurt maximaal acht weken. Voor vragen kunt u bellen met [phone].

Gemeente [city]""",
    """Beste [first],

De diagnose van de storing aan de printer is klaar: de fuser moet worden vervangen. Kosten [amount], factuurnummer [invoice]. De monteur komt op [date].

[shop]""",
    """Medicatieoverdracht

Patiënt: [name], geb. [dob]
BSN: [bsn]
{{Medicatie}}: [med:med] 2x daagse, [med:med] zo nodig.
Voorgeschiedenis: [med:diag], [med:diag].

Apotheek [city]""",
    """Ontslagbrief

Geachte collega,

Uw patiënt [name] (geb. [dob]) was opgenomen van [date] tot [date] wegens [med:diag]. Behandeling met [med:treat]. {{Ontslagmedicatie}}: [med:med].

Afdeling interne geneeskunde, [org]""",
    """Beste [first],

Zou jij de huur van [amount] willen overmaken? IBAN: [iban] t.n.v. [name]. Het ging nog fout met [badiban], daar zat een typefout in.

Groetjes""",
    """Hallo,

Uw pakket met zendingnummer [nine] is onderweg. Verwachte bezorging: [date] tussen [time] en [time]. Bezorgadres postcode [postcode].

Met vriendelijke groet, PostNL""",
    """Geachte heer [last],

Uw afspraak bij de tandarts is verzet naar [date] om [time] uur. Wilt u uw zorgpas meenemen? Bij verhindering graag 24 uur van tevoren afmelden via [phone].

Tandartspraktijk [city]""",
    """Beste [first],

Hierbij de gegevens voor de loonadministratie van de nieuwe medewerker [name]:
BSN [bsn]
IBAN [iban]
Geboortedatum [dob]
Paspoortnummer [passport]

Groet, P&O""",
    """Geachte mevrouw [last],

Wij hebben uw {{ziekmelding}} ontvangen. De bedrijfsarts neemt contact met u op. In verband met uw [med:mental] adviseren wij gesprekken met een [med:mental].

Met vriendelijke groet,
HR-afdeling [org]""",
    """Beste [first],

De offerte voor het drukwerk: 500 folders en 200 posters voor [amount] exclusief btw. Offertenummer [invoice], geldig tot [date]. KvK-nummer [eight].

Drukkerij Vos""",
    """Hoi!

Vergeet niet dat de ouderavond op [date] om [time] begint. Lokaal 12, eerste verdieping. Neem het rapport van [first] mee.

Groet, de mentor""",
    """Geachte heer [last],

Hierbij bevestigen wij de ontvangst van uw bezwaarschrift van [date]. Uw bezwaar is geregistreerd onder kenmerk [nine]. Voor uw BSN [badbsn] konden wij geen gegevens vinden; het nummer lijkt onjuist. Wilt u het controleren?

Gemeente [city], afdeling Juridische Zaken""",
    """Aan het wijkteam,

Melding zorg om [name] ([dob]), [postcode] [city]. Buren melden [med:youth] en mogelijk [med:diag]. Moeder is bekend bij de [med:mental] en gebruikt [med:med].

{{Veilig Thuis}} [city]""",
    """Geacht college,

Bijgaand het jaarverslag. In [date] zijn 1.245 meldingen ontvangen, waarvan 312 tijdig zijn afgehandeld. Het budget van [amount] is voor 94 procent besteed. Telefonisch bereikbaar via [phone].

Met vriendelijke groet,
De directeur""",
    """Beste [first],

Je creditcard [card] is gebruikt voor de boeking. Vervaldatum staat op de kaart. Bedrag [amount].

Reisbureau [city]""",
    """Geachte mevrouw [last],

Voor de aanvraag van de vergunning hebben wij een kopie van uw identiteitskaart nodig. Documentnummer: [passport]. Wij vernietigen de kopie na afhandeling.

Gemeente [city]""",
    """Hallo [first],

Dank voor je bericht. De vergadering van het bestuur is op [date]. Locatie: buurthuis De Ster, [postcode] [city]. Agenda volgt. Contributie ([amount]) graag overmaken vóór [date].

Het bestuur""",
    """Rapportage casusoverleg [date]

Cliënt [name], BSN [bsn], woonachtig in [city]. Problematiek: [med:mental], [med:mental] en schulden. Eerder [med:crime]. Afspraak: traject [med:youth] starten, huisarts informeren over [med:med].

Verslag: [first]""",
    """Beste [first],

Bijgaand de urenstaat van week 37: maandag 7,5 uur, dinsdag 8 uur, woensdag 4 uur. Projectnummer [ten], kostenplaats [eight].

Groet, [name]""",
    """Geachte heer [last],

Uw polisnummer is [nine]. De premie van [amount] per maand wordt vanaf [date] automatisch geïncasseerd van [iban].

Zorgverzekeraar""",
    """Hoi [first],

Kun je morgen om [time] bellen? Ik ben bereikbaar op [phone] of op kantoor [phone]. Het gaat over de planning van de verbouwing.

[first]""",
    """Geachte collega,

Verzoek om informatie over patiënt [name], BSN [bsn], in verband met aanvraag [med:treat]. Patiënt heeft [med:diag] en [med:diag].

Met collegiale groet,
[org]""",
    """Beste ouders,

De schoolreis is op [date]. Vertrek [time] uur bij school. Kosten [amount] per kind, over te maken op [iban] t.n.v. Ouderraad. Vermeld de naam en groep van uw kind.

De ouderraad""",
]

EN = [
    """Dear Dr [last],

I am referring Mr [name] to your clinic. He has a history of [med:diag] and is currently taking [med:med]. His citizen service number (BSN) is [bsn].

Kind regards,
[name], GP""",
    """Hi [first],

Thanks for your order #[nine] at [shop]. Your total of [amount] has been charged. Delivery expected on [date]. Tracking: [track].

Customer service""",
    """Dear [first],

Please transfer the deposit of [amount] to IBAN [iban] (account holder [name]) before [date].

Best, [first]""",
    """Dear Ms [last],

Following our meeting on [date], I confirm that your son is receiving [med:youth] and that the [med:youth] plan has been reviewed. The school is aware of his [med:diag].

Regards,
[org]""",
    """Hello team,

The quarterly review is scheduled for [date] at [time]. Please bring your project figures; budget code [eight], reference [invoice].

Thanks, [first]""",
    """Dear Mr [last],

Our client [name], social security number [bsn], has a [med:crime] and is currently on [med:crime]. Please find enclosed the court documents. Our reference: [nine].

Yours sincerely,
[org]""",
    """Hi [first],

You can reach me on [phone] after [time]. Let's discuss the renovation schedule.

[first]""",
    """Discharge summary

Patient [name], date of birth [dob], was admitted with [med:diag]. Treated with [med:treat]. Discharge {{medication}}: [med:med]. Follow-up with the [med:mental] team.

Department of Internal Medicine""",
    """Dear colleague,

Ms [name] (DOB [dob]) reports [med:mental] and [med:mental]. She was referred to a [med:mental] and started [med:med].

Best wishes,
[org]""",
    """Hello,

The invoice [invoice] for [amount] is overdue. Please pay to [iban], quoting customer number [nine]. Note that the account [badiban] on the old letterhead is no longer valid.

Accounts receivable""",
    """Dear [first],

Your card [card] was charged [amount] for the hotel booking on [date].

Travel desk""",
    """Dear Mr [last],

To complete your registration we need a copy of your passport. Passport number: [passport]. The copy will be destroyed after verification.

Municipality of [city]""",
    """Hi all,

Reminder: the office will be closed on [date]. The server maintenance window runs from [time] to [time]. Ticket number [ten].

IT Service Desk""",
    """Dear [first],

Your application for housing benefit has been received and is being processed under reference [nine]. The BSN [badbsn] you entered appears to be incorrect; please check it.

Municipality of [city]""",
    """Case conference notes, [date]

Client [name], BSN [bsn]. Issues: [med:mental], [med:youth] involvement, history of [med:crime]. Action: refer to [med:treat] and inform GP about [med:med].

Minutes: [first]""",
    """Dear Sir or Madam,

We confirm receipt of your complaint dated [date]. It has been registered under number [ten] and will be handled within six weeks. You can call us on [phone].

Customer relations""",
    """Hi [first],

Payroll details for the new starter [name]:
BSN: [bsn]
Bank account: [iban]
Date of birth: [dob]

HR""",
    """Dear Ms [last],

We received your {{sick leave}} notification. Because of your [med:mental] the occupational physician will contact you about [med:treat].

HR department, [org]""",
    """Hello,

Your parcel [nine] from [shop] is on its way and will arrive on [date] between [time] and [time]. Postcode [postcode].

Delivery service""",
    """Dear [first],

The annual report shows 1,245 requests handled in [date], with a budget of [amount] of which 94 percent was spent.

The director""",
    """Dear Dr [last],

Re: [name], born [dob], BSN [bsn]. Diagnosis: [med:diag]. Current {{medication}}: [med:med]. Please arrange [med:treat].

Kind regards,
[org]""",
    """Dear parents,

The school trip is on [date]. Departure at [time]. The cost is [amount] per child; please transfer it to [iban] stating your child's name and class.

Parents' council""",
    """Hi [first],

The quote for the printing: 500 flyers for [amount] excluding VAT, quote number [invoice], valid until [date]. Chamber of Commerce number [eight].

Print shop""",
    """Dear colleague,

Regarding our patient [name]: the [med:youth] order was extended on [date]. The child lives with a [med:youth] and the mother is in [med:mental] treatment.

[org]""",
    """Dear Mr [last],

Your policy number is [nine]. The monthly premium of [amount] will be collected from [iban] from [date] onward.

Health insurer""",
]
