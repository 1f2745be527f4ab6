<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>CameraPreview</name>
    <message>
        <location filename="../kiosk/ui/camera_preview.py" line="263"/>
        <source>The camera shows no picture. Please type your code instead.</source>
        <translation>Die Kamera liefert kein Bild. Bitte geben Sie Ihren Code stattdessen über die Tasten ein.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/camera_preview.py" line="295"/>
        <source>Camera picture: hold your QR code inside the frame</source>
        <translation>Kamerabild: Halten Sie Ihren QR-Code in den Rahmen</translation>
    </message>
</context>
<context>
    <name>DoorList</name>
    <message>
        <location filename="../kiosk/ui/widgets.py" line="90"/>
        <source>%1, %2</source>
        <translation>%1, %2</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/widgets.py" line="92"/>
        <source>%1 and %2</source>
        <translation>%1 und %2</translation>
    </message>
</context>
<context>
    <name>DoorOpenScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="62"/>
        <source>Opening doors %1…</source>
        <translation>
            <numerusform>Fach %1 wird geöffnet …</numerusform>
            <numerusform>Fächer %1 werden geöffnet …</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="64"/>
        <source>Doors %1 are open</source>
        <translation>
            <numerusform>Fach %1 ist offen</numerusform>
            <numerusform>Fächer %1 sind offen</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="66"/>
        <source>Take your parcels and close the doors.</source>
        <translation>
            <numerusform>Nehmen Sie Ihr Paket heraus und schließen Sie die Tür.</numerusform>
            <numerusform>Nehmen Sie Ihre Pakete heraus und schließen Sie die Türen.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="67"/>
        <source>Your doors are highlighted on the map.</source>
        <translation>
            <numerusform>Ihr Fach ist auf dem Plan markiert.</numerusform>
            <numerusform>Ihre Fächer sind auf dem Plan markiert.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/door_open.py" line="69"/>
        <source>Locker map, your doors: %1</source>
        <translation>Plan der Paketstation, Ihre Fächer: %1</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="70"/>
        <source>The door did not open</source>
        <translation>
            <numerusform>Die Tür ist nicht aufgegangen</numerusform>
            <numerusform>Eine Tür ist nicht aufgegangen</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ErrorScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/error.py" line="30"/>
        <source>Door %1 could not be opened.</source>
        <translation>Fach %1 ließ sich nicht öffnen.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/error.py" line="32"/>
        <source>The door could not be opened.</source>
        <translation>Die Tür ließ sich nicht öffnen.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/error.py" line="33"/>
        <source>Your parcel is safe and the operator has been told.</source>
        <translation>Ihr Paket ist sicher, und der Betreiber ist informiert.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/error.py" line="35"/>
        <source>The locker is not responding.</source>
        <translation>Die Paketstation reagiert nicht.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/error.py" line="36"/>
        <source>Your parcels are safe inside. Please try again in a few minutes.</source>
        <translation>Ihre Pakete sind darin sicher. Bitte versuchen Sie es in ein paar Minuten erneut.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/error.py" line="38"/>
        <source>Your code still works: try again later or call support.</source>
        <translation>Ihr Code bleibt gültig: Versuchen Sie es später noch einmal oder rufen Sie den Kundendienst an.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/error.py" line="40"/>
        <source>Please call support.</source>
        <translation>Bitte rufen Sie den Kundendienst an.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/error.py" line="44"/>
        <source>Back to start</source>
        <translation>Zurück zum Start</translation>
    </message>
</context>
<context>
    <name>HomeScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="123"/>
        <source>Parcel locker</source>
        <translation>Paketstation</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="124"/>
        <source>Welcome</source>
        <translation>Willkommen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="125"/>
        <source>What would you like to do?</source>
        <translation>Was möchten Sie tun?</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="127"/>
        <source>Pick up a parcel</source>
        <translation>Paket abholen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="128"/>
        <source>with your pickup code or its QR code</source>
        <translation>mit Ihrem Abholcode oder seinem QR-Code</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="129"/>
        <source>with your pickup code</source>
        <translation>mit Ihrem Abholcode</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="131"/>
        <source>Send or return</source>
        <translation>Versenden oder Retoure</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="131"/>
        <source>with your return code</source>
        <translation>mit Ihrem Retourencode</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="132"/>
        <source>Parcel locker logo</source>
        <translation>Logo der Paketstation</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="135"/>
        <source>Change language to %1</source>
        <translation>Sprache wechseln: %1</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="136"/>
        <source>♿ Accessibility: on</source>
        <translation>♿ Barrierefrei: an</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="137"/>
        <source>♿ Accessibility</source>
        <translation>♿ Barrierefrei</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="139"/>
        <source>High contrast and large text</source>
        <translation>Hoher Kontrast und große Schrift</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="144"/>
        <source>● Online</source>
        <translation>● Online</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="146"/>
        <source>○ Offline: pickup with your code still works</source>
        <translation>○ Offline: Abholung mit Ihrem Code funktioniert weiterhin</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="148"/>
        <source>○ Connecting…</source>
        <translation>○ Verbindung wird hergestellt…</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="152"/>
        <source>Sending and returns are not available at this locker yet.</source>
        <translation>Versand und Retouren sind an dieser Paketstation noch nicht möglich.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="154"/>
        <source>This code is not for this locker.</source>
        <translation>Dieser Code gilt nicht für diese Paketstation.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="156"/>
        <source>Courier badge recognised, but courier mode is not available at this locker yet.</source>
        <translation>Kurierausweis erkannt, aber der Kuriermodus ist an dieser Paketstation noch nicht verfügbar.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="162"/>
        <source>This locker is out of service for the moment. Your parcels are safe inside; please come back a little later.</source>
        <translation>Diese Paketstation ist gerade außer Betrieb. Ihre Pakete sind darin sicher; bitte kommen Sie etwas später wieder.</translation>
    </message>
</context>
<context>
    <name>Keypad</name>
    <message>
        <location filename="../kiosk/ui/keypad.py" line="170"/>
        <source>Delete the last digit</source>
        <translation>Letzte Ziffer löschen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/keypad.py" line="171"/>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/keypad.py" line="171"/>
        <source>OK, check my code</source>
        <translation>OK, Code prüfen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/keypad.py" line="179"/>
        <source>Code typed: %1</source>
        <translation>Eingegebener Code: %1</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/keypad.py" line="181"/>
        <source>No digits typed yet</source>
        <translation>Noch keine Ziffern eingegeben</translation>
    </message>
</context>
<context>
    <name>LockedOutScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/locked_out.py" line="27"/>
        <source>Too many wrong codes.</source>
        <translation>Zu viele falsche Codes.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/locked_out.py" line="29"/>
        <source>Please wait %1</source>
        <translation>Bitte warten Sie %1</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/locked_out.py" line="30"/>
        <source>Then you can enter your code again.</source>
        <translation>Danach können Sie Ihren Code erneut eingeben.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/locked_out.py" line="31"/>
        <source>Back to start</source>
        <translation>Zurück zum Start</translation>
    </message>
</context>
<context>
    <name>Mail</name>
    <message>
        <location filename="../kiosk/mail.py" line="144"/>
        <source>Hello %1,</source>
        <translation>Hallo %1,</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="145"/>
        <source>a parcel is waiting for you in the parcel locker %1.</source>
        <translation>im Paketschrank %1 liegt ein Paket für Sie bereit.</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="146"/>
        <source>Your pickup code: %1</source>
        <translation>Ihr Abholcode: %1</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="147"/>
        <source>Type the code on the locker&apos;s screen, or hold the QR code in this e-mail up to the locker&apos;s camera. The door of compartment %1 will open.</source>
        <translation>Geben Sie den Code am Bildschirm des Paketschranks ein oder halten Sie den QR-Code aus dieser E-Mail vor die Kamera des Paketschranks. Dann öffnet sich die Tür von Fach %1.</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="150"/>
        <source>Parcel: %1 (size %2)</source>
        <translation>Paket: %1 (Größe %2)</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="151"/>
        <source>Keep this code to yourself: it opens the compartment with your parcel.</source>
        <translation>Geben Sie den Code nicht weiter: Er öffnet das Fach mit Ihrem Paket.</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="152"/>
        <source>This e-mail was sent automatically by the parcel locker; replies are not read.</source>
        <translation>Diese E-Mail wurde vom Paketschrank automatisch verschickt; Antworten werden nicht gelesen.</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="156"/>
        <source>Your parcel is waiting at locker %1</source>
        <translation>Ihr Paket liegt im Paketschrank %1 bereit</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../kiosk/ui/main_window.py" line="125"/>
        <source>Parcel locker</source>
        <translation>Paketstation</translation>
    </message>
</context>
<context>
    <name>MoreTimeScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/more_time.py" line="34"/>
        <source>Need more time?</source>
        <translation>Brauchen Sie mehr Zeit?</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/more_time.py" line="36"/>
        <source>Otherwise this screen goes back to the start in %n seconds.</source>
        <translation>
            <numerusform>Sonst geht es in %n Sekunde zurück zum Start.</numerusform>
            <numerusform>Sonst geht es in %n Sekunden zurück zum Start.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/more_time.py" line="39"/>
        <source>Yes, more time please</source>
        <translation>Ja, bitte mehr Zeit</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/more_time.py" line="40"/>
        <source>No, back to start</source>
        <translation>Nein, zurück zum Start</translation>
    </message>
</context>
<context>
    <name>ParcelListScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/parcel_list.py" line="117"/>
        <source>You have %n parcels here</source>
        <translation>
            <numerusform>Hier liegt %n Paket für Sie</numerusform>
            <numerusform>Hier liegen %n Pakete für Sie</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/parcel_list.py" line="118"/>
        <source>Open the doors one at a time, or all at once.</source>
        <translation>Öffnen Sie die Fächer einzeln oder alle auf einmal.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/parcel_list.py" line="119"/>
        <source>Open all doors</source>
        <translation>Alle Fächer öffnen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/parcel_list.py" line="121"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
</context>
<context>
    <name>ParcelRow</name>
    <message>
        <location filename="../kiosk/ui/screens/parcel_list.py" line="48"/>
        <source>Door %1</source>
        <translation>Fach %1</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/parcel_list.py" line="51"/>
        <source>Taken</source>
        <translation>Entnommen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/parcel_list.py" line="52"/>
        <source>Door %1: parcel already taken</source>
        <translation>Fach %1: Paket bereits entnommen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/parcel_list.py" line="54"/>
        <source>Open</source>
        <translation>Öffnen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/parcel_list.py" line="55"/>
        <source>Open door %1</source>
        <translation>Fach %1 öffnen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/parcel_list.py" line="59"/>
        <source>Small parcel</source>
        <translation>Kleines Paket</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/parcel_list.py" line="60"/>
        <source>Medium parcel</source>
        <translation>Mittleres Paket</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/parcel_list.py" line="61"/>
        <source>Large parcel</source>
        <translation>Großes Paket</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/parcel_list.py" line="62"/>
        <source>Extra large parcel</source>
        <translation>Sehr großes Paket</translation>
    </message>
</context>
<context>
    <name>PickupCheckingScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/pickup_checking.py" line="27"/>
        <source>Checking your code…</source>
        <translation>Ihr Code wird geprüft…</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_checking.py" line="29"/>
        <source>This QR code is new to this locker. We are asking the parcel service.</source>
        <translation>Dieser QR-Code ist an diesem Automaten neu. Wir fragen beim Paketdienst nach.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_checking.py" line="31"/>
        <source>This code is new to this locker. We are asking the parcel service.</source>
        <translation>Dieser Code ist an diesem Automaten neu. Wir fragen beim Paketdienst nach.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_checking.py" line="32"/>
        <source>This takes a few seconds.</source>
        <translation>Das dauert wenige Sekunden.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_checking.py" line="33"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
</context>
<context>
    <name>PickupCodeScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="64"/>
        <source>Enter your pickup code</source>
        <translation>Geben Sie Ihren Abholcode ein</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="65"/>
        <source>You find it in the message we sent you. It has 6 to 8 digits.</source>
        <translation>Sie finden ihn in unserer Nachricht an Sie. Er hat 6 bis 8 Ziffern.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="67"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="68"/>
        <source>Scan a QR code instead</source>
        <translation>Stattdessen QR-Code scannen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="75"/>
        <source>This code is not a pickup code for this locker.</source>
        <translation>Dieser Code ist kein Abholcode für diese Paketstation.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="77"/>
        <source>A pickup code has 6 to 8 digits. Please check it and try again.</source>
        <translation>Ein Abholcode hat 6 bis 8 Ziffern. Bitte prüfen Sie ihn und versuchen Sie es erneut.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="79"/>
        <source>That code was not recognised here, and the parcel service cannot be reached to check it. Please check the code, or try again in a few minutes.</source>
        <translation>Dieser Code ist hier nicht bekannt, und der Paketdienst ist gerade nicht erreichbar, um ihn zu prüfen. Bitte prüfen Sie den Code oder versuchen Sie es in einigen Minuten erneut.</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/pickup_code.py" line="84"/>
        <source>That code was not recognised. %n attempts left before a pause.</source>
        <translation>
            <numerusform>Dieser Code wurde nicht erkannt. Noch %n Versuch bis zu einer Pause.</numerusform>
            <numerusform>Dieser Code wurde nicht erkannt. Noch %n Versuche bis zu einer Pause.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="86"/>
        <source>That code was not recognised.</source>
        <translation>Dieser Code wurde nicht erkannt.</translation>
    </message>
</context>
<context>
    <name>PickupScanScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/pickup_scan.py" line="51"/>
        <source>Show your QR code to the camera</source>
        <translation>Halten Sie Ihren QR-Code vor die Kamera</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_scan.py" line="52"/>
        <source>Hold the QR code from your message inside the frame, about 20 cm from the screen.</source>
        <translation>Halten Sie den QR-Code aus unserer Nachricht in den Rahmen, etwa 20 cm vor dem Bildschirm.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_scan.py" line="56"/>
        <source>The camera is not working right now</source>
        <translation>Die Kamera funktioniert gerade nicht</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_scan.py" line="59"/>
        <source>Type the code instead</source>
        <translation>Stattdessen Code eintippen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_scan.py" line="60"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_scan.py" line="66"/>
        <source>This QR code is not a pickup code for this locker.</source>
        <translation>Dieser QR-Code ist kein Abholcode für diese Paketstation.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_scan.py" line="68"/>
        <source>This QR code is not a pickup code. Please show the QR code from your message.</source>
        <translation>Dieser QR-Code ist kein Abholcode. Bitte zeigen Sie den QR-Code aus unserer Nachricht.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_scan.py" line="70"/>
        <source>That QR code was not recognised here, and the parcel service cannot be reached to check it. Please check the code, or try again in a few minutes.</source>
        <translation>Dieser QR-Code ist hier nicht bekannt, und der Paketdienst ist gerade nicht erreichbar, um ihn zu prüfen. Bitte prüfen Sie den Code oder versuchen Sie es in einigen Minuten erneut.</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/pickup_scan.py" line="75"/>
        <source>That QR code was not recognised. %n attempts left before a pause.</source>
        <translation>
            <numerusform>Dieser QR-Code wurde nicht erkannt. Noch %n Versuch bis zu einer Pause.</numerusform>
            <numerusform>Dieser QR-Code wurde nicht erkannt. Noch %n Versuche bis zu einer Pause.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_scan.py" line="77"/>
        <source>That QR code was not recognised.</source>
        <translation>Dieser QR-Code wurde nicht erkannt.</translation>
    </message>
</context>
<context>
    <name>ReportProblemScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/report_problem.py" line="50"/>
        <source>What went wrong?</source>
        <translation>Was ist passiert?</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/report_problem.py" line="51"/>
        <source>Choose one. We pass your report on to the operator.</source>
        <translation>Bitte wählen Sie aus. Wir leiten Ihre Meldung an den Betreiber weiter.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/report_problem.py" line="53"/>
        <source>The parcel is damaged</source>
        <translation>Das Paket ist beschädigt</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/report_problem.py" line="54"/>
        <source>This is not my parcel</source>
        <translation>Das ist nicht mein Paket</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/report_problem.py" line="55"/>
        <source>The door did not open</source>
        <translation>Die Tür ist nicht aufgegangen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/report_problem.py" line="60"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
</context>
<context>
    <name>ThankYouScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="30"/>
        <source>Thank you</source>
        <translation>Vielen Dank</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="32"/>
        <source>Thank you, we have passed your report on.</source>
        <translation>Vielen Dank, wir haben Ihre Meldung weitergeleitet.</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/thank_you.py" line="39"/>
        <source>You picked up %n parcels.</source>
        <translation>
            <numerusform>Sie haben %n Paket abgeholt.</numerusform>
            <numerusform>Sie haben %n Pakete abgeholt.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="43"/>
        <source>Have a good day!</source>
        <translation>Einen schönen Tag noch!</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="44"/>
        <source>Report a problem</source>
        <translation>Problem melden</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="46"/>
        <source>Done</source>
        <translation>Fertig</translation>
    </message>
</context>
</TS>
