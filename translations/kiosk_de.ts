<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>CameraPreview</name>
    <message>
        <location filename="../kiosk/ui/camera_preview.py" line="265"/>
        <source>The camera shows no picture. Please type your code instead.</source>
        <translation>Die Kamera liefert kein Bild. Bitte geben Sie Ihren Code stattdessen über die Tasten ein.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/camera_preview.py" line="299"/>
        <source>Camera picture: hold your QR code inside the frame</source>
        <translation>Kamerabild: Halten Sie Ihren QR-Code in den Rahmen</translation>
    </message>
</context>
<context>
    <name>CollectRow</name>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="50"/>
        <source>Door %1</source>
        <translation>Fach %1</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="51"/>
        <source>expired</source>
        <translation>abgelaufen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="52"/>
        <source>returned by a customer</source>
        <translation>Retoure eines Kunden</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="53"/>
        <source>%1 · %2 · %3</source>
        <translation>%1 · %2 · %3</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="56"/>
        <source>✓ Collected</source>
        <translation>✓ Entnommen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="58"/>
        <source>Not collected: the door did not open or the parcel is still inside</source>
        <translation>Nicht entnommen: Das Fach ging nicht auf, oder das Paket liegt noch darin</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="69"/>
        <source>Try again</source>
        <translation>Erneut versuchen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="70"/>
        <source>Open door %1 again</source>
        <translation>Fach %1 erneut öffnen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="72"/>
        <source>Open</source>
        <translation>Öffnen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="73"/>
        <source>Open door %1</source>
        <translation>Fach %1 öffnen</translation>
    </message>
</context>
<context>
    <name>CourierCollectScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="129"/>
        <source>Nothing to collect</source>
        <translation>Nichts zu entnehmen</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/courier_collect.py" line="131"/>
        <source>%n parcels to collect</source>
        <translation>
            <numerusform>%n Paket zu entnehmen</numerusform>
            <numerusform>%n Pakete zu entnehmen</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="133"/>
        <source>All parcels collected</source>
        <translation>Alle Pakete entnommen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="135"/>
        <source>Open the doors one at a time, or all at once. Close each door when the parcel is out.</source>
        <translation>Öffnen Sie die Fächer einzeln oder alle auf einmal. Schließen Sie jedes Fach, sobald das Paket heraus ist.</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/courier_collect.py" line="137"/>
        <source>Open all %n doors</source>
        <translation>
            <numerusform>%n Fach öffnen</numerusform>
            <numerusform>%n Fächer öffnen</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="138"/>
        <source>Open all doors</source>
        <translation>Alle Fächer öffnen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_collect.py" line="140"/>
        <source>Back to menu</source>
        <translation>Zum Menü</translation>
    </message>
</context>
<context>
    <name>CourierLoginScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="82"/>
        <source>Courier login</source>
        <translation>Kurier-Login</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="84"/>
        <source>Hold your badge up to the camera, or enter your courier ID and PIN.</source>
        <translation>Halten Sie Ihren Ausweis vor die Kamera oder geben Sie Ihre Kurier-ID und PIN ein.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="86"/>
        <source>Enter your courier ID and PIN.</source>
        <translation>Geben Sie Ihre Kurier-ID und PIN ein.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="87"/>
        <location filename="../kiosk/ui/screens/courier_login.py" line="89"/>
        <source>Courier ID</source>
        <translation>Kurier-ID</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="88"/>
        <location filename="../kiosk/ui/screens/courier_login.py" line="90"/>
        <source>PIN</source>
        <translation>PIN</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="93"/>
        <source>Too many wrong attempts. Please wait %1.</source>
        <translation>Zu viele Fehlversuche. Bitte warten Sie %1.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="96"/>
        <source>Checking…</source>
        <translation>Wird geprüft…</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="102"/>
        <source>Next</source>
        <translation>Weiter</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="102"/>
        <source>Next: the PIN</source>
        <translation>Weiter zur PIN</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="105"/>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="105"/>
        <source>OK, log in</source>
        <translation>OK, anmelden</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="107"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="108"/>
        <source>Log in</source>
        <translation>Anmelden</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/courier_login.py" line="116"/>
        <source>Courier ID, PIN or badge not recognised. %n attempts left before a pause.</source>
        <translation>
            <numerusform>Kurier-ID, PIN oder Ausweis nicht erkannt. Noch %n Versuch bis zu einer Pause.</numerusform>
            <numerusform>Kurier-ID, PIN oder Ausweis nicht erkannt. Noch %n Versuche bis zu einer Pause.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="118"/>
        <source>Courier ID, PIN or badge not recognised.</source>
        <translation>Kurier-ID, PIN oder Ausweis nicht erkannt.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="120"/>
        <source>Please enter both your courier ID and your PIN.</source>
        <translation>Bitte geben Sie Ihre Kurier-ID und Ihre PIN ein.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="122"/>
        <source>Your courier access has expired. Please contact your dispatcher.</source>
        <translation>Ihr Kurierzugang ist abgelaufen. Bitte wenden Sie sich an Ihre Disposition.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_login.py" line="124"/>
        <source>This locker cannot check your PIN. Please log in with your badge.</source>
        <translation>Diese Paketstation kann Ihre PIN nicht prüfen. Bitte melden Sie sich mit Ihrem Ausweis an.</translation>
    </message>
</context>
<context>
    <name>CourierMenuScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/courier_menu.py" line="64"/>
        <source>Hello, %1</source>
        <translation>Hallo, %1</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_menu.py" line="64"/>
        <source>Hello</source>
        <translation>Hallo</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_menu.py" line="65"/>
        <source>This session: %1 delivered, %2 collected.</source>
        <translation>Diese Sitzung: %1 zugestellt, %2 entnommen.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_menu.py" line="67"/>
        <source>Deliver parcels</source>
        <translation>Pakete zustellen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_menu.py" line="68"/>
        <source>Scan one label after another</source>
        <translation>Ein Etikett nach dem anderen scannen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_menu.py" line="70"/>
        <source>Your login does not include collecting</source>
        <translation>Ihr Zugang erlaubt keine Entnahme</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_menu.py" line="72"/>
        <source>Nothing to collect here</source>
        <translation>Hier ist nichts zu entnehmen</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/courier_menu.py" line="74"/>
        <source>%n parcels waiting</source>
        <translation>
            <numerusform>%n Paket wartet</numerusform>
            <numerusform>%n Pakete warten</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_menu.py" line="75"/>
        <source>Collect parcels</source>
        <translation>Pakete entnehmen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_menu.py" line="77"/>
        <source>Log out</source>
        <translation>Abmelden</translation>
    </message>
</context>
<context>
    <name>CourierScanScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="81"/>
        <source>Scan the next parcel label</source>
        <translation>Nächstes Paketetikett scannen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="83"/>
        <source>Hold the label&apos;s barcode to the scanner or up to the camera. The door opens by itself.</source>
        <translation>Halten Sie den Barcode des Etiketts an den Scanner oder vor die Kamera. Das Fach öffnet sich von selbst.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="86"/>
        <source>Hold the label&apos;s barcode to the scanner. The door opens by itself.</source>
        <translation>Halten Sie den Barcode des Etiketts an den Scanner. Das Fach öffnet sich von selbst.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="94"/>
        <source>Delivered</source>
        <translation>Zugestellt</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="95"/>
        <source>Not accepted</source>
        <translation>Nicht angenommen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="96"/>
        <source>Back to menu</source>
        <translation>Zum Menü</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="108"/>
        <source>Parcel %1 is in door %2. Scan the next one.</source>
        <translation>Paket %1 liegt in Fach %2. Scannen Sie das nächste.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="109"/>
        <source>The parcel is in. Scan the next one.</source>
        <translation>Das Paket liegt im Fach. Scannen Sie das nächste.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="112"/>
        <source>Parcel %1 was not announced for this locker. Please keep it.</source>
        <translation>Paket %1 ist für diese Paketstation nicht angekündigt. Bitte behalten Sie es.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="113"/>
        <source>This parcel was not announced for this locker. Please keep it.</source>
        <translation>Dieses Paket ist für diese Paketstation nicht angekündigt. Bitte behalten Sie es.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="116"/>
        <source>No free compartment for size %1. Please keep this parcel.</source>
        <translation>Kein freies Fach der Größe %1. Bitte behalten Sie dieses Paket.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="117"/>
        <source>No free compartment for this parcel. Please keep it.</source>
        <translation>Kein freies Fach für dieses Paket. Bitte behalten Sie es.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="120"/>
        <source>No bigger compartment is free (size %1 or larger). Please keep this parcel.</source>
        <translation>Kein größeres Fach frei (Größe %1 oder größer). Bitte behalten Sie dieses Paket.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="122"/>
        <source>No bigger compartment is free. Please keep this parcel.</source>
        <translation>Kein größeres Fach frei. Bitte behalten Sie dieses Paket.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="125"/>
        <source>Parcel %1 was not delivered. Please keep it.</source>
        <translation>Paket %1 wurde nicht zugestellt. Bitte behalten Sie es.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="126"/>
        <source>The parcel was not delivered. Please keep it.</source>
        <translation>Das Paket wurde nicht zugestellt. Bitte behalten Sie es.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="129"/>
        <source>Parcel %1 was delivered to this locker already.</source>
        <translation>Paket %1 wurde bereits in diese Paketstation geliefert.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="130"/>
        <source>This parcel was delivered to this locker already.</source>
        <translation>Dieses Paket wurde bereits in diese Paketstation geliefert.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="133"/>
        <source>That was not a parcel label. Please scan the barcode on the label.</source>
        <translation>Das war kein Paketetikett. Bitte scannen Sie den Barcode auf dem Etikett.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="135"/>
        <source>No door could be opened for parcel %1. Please keep it; the operator has been told.</source>
        <translation>Für Paket %1 ließ sich kein Fach öffnen. Bitte behalten Sie es; der Betreiber ist informiert.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_scan.py" line="137"/>
        <source>No door could be opened. Please keep the parcel; the operator has been told.</source>
        <translation>Es ließ sich kein Fach öffnen. Bitte behalten Sie das Paket; der Betreiber ist informiert.</translation>
    </message>
</context>
<context>
    <name>CourierSizeScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/courier_size.py" line="44"/>
        <source>Which size is this parcel?</source>
        <translation>Welche Größe hat dieses Paket?</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_size.py" line="45"/>
        <source>Label %1</source>
        <translation>Etikett %1</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_size.py" line="47"/>
        <source>This parcel was not announced for this locker. A photo of it was taken for the record.</source>
        <translation>Dieses Paket ist für diese Paketstation nicht angekündigt. Zur Dokumentation wurde ein Foto davon gemacht.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_size.py" line="50"/>
        <source>This parcel was not announced for this locker.</source>
        <translation>Dieses Paket ist für diese Paketstation nicht angekündigt.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_size.py" line="52"/>
        <source>There is no size on record for this parcel.</source>
        <translation>Für dieses Paket ist keine Größe hinterlegt.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_size.py" line="56"/>
        <source>No free compartment</source>
        <translation>Kein Fach frei</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_size.py" line="57"/>
        <source>Size %1, %2</source>
        <translation>Größe %1, %2</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_size.py" line="58"/>
        <source>Size %1: no free compartment</source>
        <translation>Größe %1: kein Fach frei</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_size.py" line="62"/>
        <source>No compartment is free for this parcel. Please keep it.</source>
        <translation>Für dieses Paket ist kein Fach frei. Bitte behalten Sie es.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_size.py" line="63"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
</context>
<context>
    <name>CourierSummaryScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/courier_summary.py" line="52"/>
        <source>Goodbye, %1</source>
        <translation>Auf Wiedersehen, %1</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_summary.py" line="52"/>
        <source>Goodbye</source>
        <translation>Auf Wiedersehen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_summary.py" line="53"/>
        <source>You are logged out. This session:</source>
        <translation>Sie sind abgemeldet. Diese Sitzung:</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/courier_summary.py" line="55"/>
        <source>%n doors did not open; they were reported and taken out of use.</source>
        <translation>
            <numerusform>%n Fach ging nicht auf; es wurde gemeldet und gesperrt.</numerusform>
            <numerusform>%n Fächer gingen nicht auf; sie wurden gemeldet und gesperrt.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_summary.py" line="57"/>
        <source>Delivered</source>
        <translation>Zugestellt</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_summary.py" line="58"/>
        <source>Not accepted</source>
        <translation>Nicht angenommen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_summary.py" line="59"/>
        <source>Collected</source>
        <translation>Entnommen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_summary.py" line="60"/>
        <source>Door faults</source>
        <translation>Fachstörungen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/courier_summary.py" line="61"/>
        <source>Done</source>
        <translation>Fertig</translation>
    </message>
</context>
<context>
    <name>DepositCheckScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="36"/>
        <source>The parcel still seems to be in door %1.</source>
        <translation>Das Paket scheint noch in Fach %1 zu liegen.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="38"/>
        <source>Open the door again to take parcel %1 out, or leave it in.</source>
        <translation>Öffnen Sie das Fach erneut, um Paket %1 herauszunehmen, oder lassen Sie es darin.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="40"/>
        <source>Open the door again to take the parcel out, or leave it in.</source>
        <translation>Öffnen Sie das Fach erneut, um das Paket herauszunehmen, oder lassen Sie es darin.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="41"/>
        <source>Leave it</source>
        <translation>Drin lassen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="42"/>
        <source>Leave the parcel in door %1</source>
        <translation>Das Paket in Fach %1 lassen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="44"/>
        <source>Door %1 is closed, but the compartment looks empty.</source>
        <translation>Fach %1 ist zu, scheint aber leer zu sein.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="45"/>
        <source>Did you put parcel %1 in?</source>
        <translation>Haben Sie Paket %1 hineingelegt?</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="46"/>
        <source>Did you put the parcel in?</source>
        <translation>Haben Sie das Paket hineingelegt?</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="47"/>
        <source>I kept the parcel</source>
        <translation>Ich habe das Paket behalten</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="50"/>
        <source>Door %1 is closed, but we cannot see a parcel inside.</source>
        <translation>Fach %1 ist zu, aber wir erkennen darin kein Paket.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="51"/>
        <source>Did you put your parcel in?</source>
        <translation>Haben Sie Ihr Paket hineingelegt?</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="52"/>
        <source>I still have my parcel</source>
        <translation>Ich habe mein Paket noch</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="56"/>
        <source>If it is in there, open the door again, push it to the back and close the door.</source>
        <translation>Falls es darin liegt: Fach erneut öffnen, das Paket nach hinten schieben und das Fach schließen.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/deposit_check.py" line="59"/>
        <source>Open door %1 again</source>
        <translation>Fach %1 erneut öffnen</translation>
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
        <location filename="../kiosk/ui/screens/door_open.py" line="73"/>
        <source>Opening doors %1…</source>
        <translation>
            <numerusform>Fach %1 wird geöffnet …</numerusform>
            <numerusform>Fächer %1 werden geöffnet …</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="75"/>
        <source>Doors %1 are open</source>
        <translation>
            <numerusform>Fach %1 ist offen</numerusform>
            <numerusform>Fächer %1 sind offen</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/door_open.py" line="79"/>
        <source>Moved from door %1.</source>
        <translation>Umgelegt aus Fach %1.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/door_open.py" line="84"/>
        <source>Too small</source>
        <translation>Zu klein</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/door_open.py" line="85"/>
        <source>The compartment is too small: open a bigger one</source>
        <translation>Das Fach ist zu klein: ein größeres öffnen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/door_open.py" line="86"/>
        <source>Door did not open</source>
        <translation>Fach ging nicht auf</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/door_open.py" line="98"/>
        <source>Put parcel %1 in door %2 and close it.</source>
        <translation>Legen Sie Paket %1 in Fach %2 und schließen Sie es.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/door_open.py" line="99"/>
        <source>Put the parcel in door %1 and close it.</source>
        <translation>Legen Sie das Paket in Fach %1 und schließen Sie es.</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="101"/>
        <source>Take the parcels out and close the doors.</source>
        <translation>
            <numerusform>Nehmen Sie das Paket heraus und schließen Sie das Fach.</numerusform>
            <numerusform>Nehmen Sie die Pakete heraus und schließen Sie die Fächer.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/door_open.py" line="103"/>
        <source>Put your parcel in door %1 and close it.</source>
        <translation>Legen Sie Ihr Paket in Fach %1 und schließen Sie es.</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="104"/>
        <source>Take your parcels and close the doors.</source>
        <translation>
            <numerusform>Nehmen Sie Ihr Paket heraus und schließen Sie die Tür.</numerusform>
            <numerusform>Nehmen Sie Ihre Pakete heraus und schließen Sie die Türen.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="80"/>
        <source>Your doors are highlighted on the map.</source>
        <translation>
            <numerusform>Ihr Fach ist auf dem Plan markiert.</numerusform>
            <numerusform>Ihre Fächer sind auf dem Plan markiert.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/door_open.py" line="82"/>
        <source>Locker map, your doors: %1</source>
        <translation>Plan der Paketstation, Ihre Fächer: %1</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="83"/>
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
    <name>FaceConsentScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/face_consent.py" line="69"/>
        <source>What is kept</source>
        <translation>Was gespeichert wird</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_consent.py" line="70"/>
        <source>Numbers computed from your face, not a photo. They are encrypted and kept only in this locker.</source>
        <translation>Zahlen, die aus Ihrem Gesicht berechnet werden, kein Foto. Sie werden verschlüsselt und nur in dieser Paketstation gespeichert.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_consent.py" line="72"/>
        <source>For how long</source>
        <translation>Wie lange</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/face_consent.py" line="73"/>
        <source>Until you ask us to forget them, and deleted after %n days without use.</source>
        <translation>
            <numerusform>Bis Sie uns bitten, sie zu löschen, und automatisch nach %n Tag ohne Nutzung.</numerusform>
            <numerusform>Bis Sie uns bitten, sie zu löschen, und automatisch nach %n Tagen ohne Nutzung.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_consent.py" line="74"/>
        <source>Changing your mind</source>
        <translation>Wenn Sie es sich anders überlegen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_consent.py" line="75"/>
        <source>Tap “%1” after any pickup, or ask the operator.</source>
        <translation>Tippen Sie nach jeder Abholung auf „%1“ oder wenden Sie sich an den Betreiber.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_consent.py" line="76"/>
        <source>Your code still works</source>
        <translation>Ihr Code gilt weiter</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_consent.py" line="77"/>
        <source>Your pickup code and QR code always keep working.</source>
        <translation>Ihr Abholcode und Ihr QR-Code funktionieren immer weiter.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_consent.py" line="79"/>
        <source>Pick up with your face next time?</source>
        <translation>Nächstes Mal mit Ihrem Gesicht abholen?</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_consent.py" line="83"/>
        <source>No, thanks</source>
        <translation>Nein, danke</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_consent.py" line="84"/>
        <source>Yes, use my face</source>
        <translation>Ja, mein Gesicht nutzen</translation>
    </message>
</context>
<context>
    <name>FaceEnrolScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/face_enrol.py" line="51"/>
        <source>Setting up your face</source>
        <translation>Ihr Gesicht wird eingerichtet</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_enrol.py" line="57"/>
        <source>%1 of %2 done</source>
        <translation>%1 von %2 erledigt</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_enrol.py" line="58"/>
        <source>The pictures are not kept: only numbers computed from them are stored, encrypted, in this locker.</source>
        <translation>Die Bilder werden nicht aufbewahrt: Gespeichert werden nur daraus berechnete Zahlen, verschlüsselt, in dieser Paketstation.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_enrol.py" line="61"/>
        <source>The camera is not working right now</source>
        <translation>Die Kamera funktioniert gerade nicht</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_enrol.py" line="63"/>
        <source>Your face cannot be set up just now. Your code keeps working.</source>
        <translation>Ihr Gesicht kann gerade nicht eingerichtet werden. Ihr Code funktioniert weiter.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_enrol.py" line="65"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_enrol.py" line="70"/>
        <source>Good. Keep looking at the camera.</source>
        <translation>Gut. Schauen Sie weiter in die Kamera.</translation>
    </message>
</context>
<context>
    <name>FaceGuidance</name>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="27"/>
        <source>Look at the camera</source>
        <translation>Schauen Sie in die Kamera</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="28"/>
        <source>Come a little closer</source>
        <translation>Kommen Sie etwas näher</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="29"/>
        <source>One person at a time, please</source>
        <translation>Bitte nur eine Person</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="30"/>
        <source>Hold still</source>
        <translation>Bitte still halten</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="31"/>
        <source>Now blink</source>
        <translation>Jetzt blinzeln</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="32"/>
        <source>Now turn your head a little</source>
        <translation>Jetzt den Kopf etwas drehen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="33"/>
        <source>Checking…</source>
        <translation>Wird geprüft…</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="34"/>
        <source>We do not recognise you. Type your code instead.</source>
        <translation>Wir erkennen Sie nicht. Geben Sie stattdessen Ihren Code ein.</translation>
    </message>
</context>
<context>
    <name>FacePreview</name>
    <message>
        <location filename="../kiosk/ui/camera_preview.py" line="315"/>
        <source>The camera shows no picture. Please type your code instead.</source>
        <translation>Die Kamera liefert kein Bild. Bitte geben Sie Ihren Code stattdessen über die Tasten ein.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/camera_preview.py" line="316"/>
        <source>The camera shows no picture.</source>
        <translation>Die Kamera liefert kein Bild.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/camera_preview.py" line="319"/>
        <source>Camera picture: put your face inside the oval</source>
        <translation>Kamerabild: Halten Sie Ihr Gesicht in das Oval</translation>
    </message>
</context>
<context>
    <name>HomeScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="130"/>
        <source>Parcel locker</source>
        <translation>Paketstation</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="131"/>
        <source>Welcome</source>
        <translation>Willkommen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="132"/>
        <source>What would you like to do?</source>
        <translation>Was möchten Sie tun?</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="134"/>
        <source>Pick up a parcel</source>
        <translation>Paket abholen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="135"/>
        <source>with your pickup code or its QR code</source>
        <translation>mit Ihrem Abholcode oder seinem QR-Code</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="136"/>
        <source>with your pickup code</source>
        <translation>mit Ihrem Abholcode</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="138"/>
        <source>Send or return</source>
        <translation>Versenden oder Retoure</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="138"/>
        <source>with your return code</source>
        <translation>mit Ihrem Retourencode</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="139"/>
        <source>Parcel locker logo</source>
        <translation>Logo der Paketstation</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="140"/>
        <source>Courier</source>
        <translation>Kurier</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="140"/>
        <source>Courier login</source>
        <translation>Kurier-Anmeldung</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="143"/>
        <source>Change language to %1</source>
        <translation>Sprache wechseln: %1</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="144"/>
        <source>♿ Accessibility: on</source>
        <translation>♿ Barrierefrei: an</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="145"/>
        <source>♿ Accessibility</source>
        <translation>♿ Barrierefrei</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="147"/>
        <source>High contrast and large text</source>
        <translation>Hoher Kontrast und große Schrift</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="152"/>
        <source>● Online</source>
        <translation>● Online</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="154"/>
        <source>○ Offline: pickup with your code still works</source>
        <translation>○ Offline: Abholung mit Ihrem Code funktioniert weiterhin</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="156"/>
        <source>○ Connecting…</source>
        <translation>○ Verbindung wird hergestellt…</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="160"/>
        <source>This code is not for this locker.</source>
        <translation>Dieser Code gilt nicht für diese Paketstation.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/home.py" line="165"/>
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
        <location filename="../kiosk/mail.py" line="143"/>
        <source>Hello %1,</source>
        <translation>Hallo %1,</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="144"/>
        <source>a parcel is waiting for you in the parcel locker %1.</source>
        <translation>im Paketschrank %1 liegt ein Paket für Sie bereit.</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="145"/>
        <source>Your pickup code: %1</source>
        <translation>Ihr Abholcode: %1</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="146"/>
        <source>Type the code on the locker&apos;s screen, or hold the QR code in this e-mail up to the locker&apos;s camera. The door of compartment %1 will open.</source>
        <translation>Geben Sie den Code am Bildschirm des Paketschranks ein oder halten Sie den QR-Code aus dieser E-Mail vor die Kamera des Paketschranks. Dann öffnet sich die Tür von Fach %1.</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="149"/>
        <source>Parcel: %1 (size %2)</source>
        <translation>Paket: %1 (Größe %2)</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="150"/>
        <source>Keep this code to yourself: it opens the compartment with your parcel.</source>
        <translation>Geben Sie den Code nicht weiter: Er öffnet das Fach mit Ihrem Paket.</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="151"/>
        <source>This e-mail was sent automatically by the parcel locker; replies are not read.</source>
        <translation>Diese E-Mail wurde vom Paketschrank automatisch verschickt; Antworten werden nicht gelesen.</translation>
    </message>
    <message>
        <location filename="../kiosk/mail.py" line="155"/>
        <source>Your parcel is waiting at locker %1</source>
        <translation>Ihr Paket liegt im Paketschrank %1 bereit</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../kiosk/ui/main_window.py" line="129"/>
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
    <name>ParcelText</name>
    <message>
        <location filename="../kiosk/ui/parcel_text.py" line="17"/>
        <source>Small</source>
        <translation>Klein</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/parcel_text.py" line="18"/>
        <source>Medium</source>
        <translation>Mittel</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/parcel_text.py" line="19"/>
        <source>Large</source>
        <translation>Groß</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/parcel_text.py" line="20"/>
        <source>Extra large</source>
        <translation>Sehr groß</translation>
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
        <location filename="../kiosk/ui/screens/pickup_code.py" line="71"/>
        <source>Enter your pickup code</source>
        <translation>Geben Sie Ihren Abholcode ein</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="72"/>
        <source>You find it in the message we sent you. It has 6 to 8 digits.</source>
        <translation>Sie finden ihn in unserer Nachricht an Sie. Er hat 6 bis 8 Ziffern.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="74"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="75"/>
        <source>Scan a QR code instead</source>
        <translation>Stattdessen QR-Code scannen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="78"/>
        <source>Use my face</source>
        <translation>Mit Gesicht abholen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="84"/>
        <source>This code is not a pickup code for this locker.</source>
        <translation>Dieser Code ist kein Abholcode für diese Paketstation.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="86"/>
        <source>A pickup code has 6 to 8 digits. Please check it and try again.</source>
        <translation>Ein Abholcode hat 6 bis 8 Ziffern. Bitte prüfen Sie ihn und versuchen Sie es erneut.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="88"/>
        <source>We could not recognise your face. Please type your code.</source>
        <translation>Wir konnten Ihr Gesicht nicht erkennen. Bitte geben Sie Ihren Code ein.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="90"/>
        <source>That code was not recognised here, and the parcel service cannot be reached to check it. Please check the code, or try again in a few minutes.</source>
        <translation>Dieser Code ist hier nicht bekannt, und der Paketdienst ist gerade nicht erreichbar, um ihn zu prüfen. Bitte prüfen Sie den Code oder versuchen Sie es in einigen Minuten erneut.</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/pickup_code.py" line="95"/>
        <source>That code was not recognised. %n attempts left before a pause.</source>
        <translation>
            <numerusform>Dieser Code wurde nicht erkannt. Noch %n Versuch bis zu einer Pause.</numerusform>
            <numerusform>Dieser Code wurde nicht erkannt. Noch %n Versuche bis zu einer Pause.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_code.py" line="97"/>
        <source>That code was not recognised.</source>
        <translation>Dieser Code wurde nicht erkannt.</translation>
    </message>
</context>
<context>
    <name>PickupFaceScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="79"/>
        <source>Pick up with your face</source>
        <translation>Mit Gesicht abholen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="83"/>
        <source>The camera is not working right now</source>
        <translation>Die Kamera funktioniert gerade nicht</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="88"/>
        <source>Keep your face inside the oval. We check that you blink and move a little, so a photo cannot open a door.</source>
        <translation>Halten Sie Ihr Gesicht in das Oval. Wir prüfen, dass Sie blinzeln und sich etwas bewegen, damit kein Foto ein Fach öffnen kann.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="91"/>
        <source>%1 You can also show the QR code from your message.</source>
        <translation>%1 Sie können auch den QR-Code aus unserer Nachricht zeigen.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="95"/>
        <source>Type my code instead</source>
        <translation>Code eintippen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/pickup_face.py" line="96"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
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
    <name>ReceiptScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/receipt.py" line="48"/>
        <source>Thank you</source>
        <translation>Vielen Dank</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/receipt.py" line="49"/>
        <source>Your receipt code:</source>
        <translation>Ihr Quittungscode:</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/receipt.py" line="54"/>
        <source>Receipt code: %1</source>
        <translation>Quittungscode: %1</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/receipt.py" line="56"/>
        <source>Your return is in door %1. Keep this code: it shows that you handed it in.</source>
        <translation>Ihre Retoure liegt in Fach %1. Bewahren Sie diesen Code auf: Er belegt, dass Sie sie abgegeben haben.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/receipt.py" line="58"/>
        <source>Done</source>
        <translation>Fertig</translation>
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
    <name>ReturnCodeScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="63"/>
        <source>Enter your return code</source>
        <translation>Retourencode eingeben</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="65"/>
        <source>8 to 16 letters and digits, from your return confirmation. Or hold its QR code up to the camera.</source>
        <translation>8 bis 16 Buchstaben und Ziffern, aus Ihrer Retourenbestätigung. Oder halten Sie deren QR-Code vor die Kamera.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="68"/>
        <source>8 to 16 letters and digits, from your return confirmation.</source>
        <translation>8 bis 16 Buchstaben und Ziffern, aus Ihrer Retourenbestätigung.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="69"/>
        <source>Return code</source>
        <translation>Retourencode</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="72"/>
        <source>Too many wrong codes. Please wait %1.</source>
        <translation>Zu viele falsche Codes. Bitte warten Sie %1.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="75"/>
        <source>Checking your code…</source>
        <translation>Ihr Code wird geprüft…</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="79"/>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="79"/>
        <source>OK, check my return code</source>
        <translation>OK, Retourencode prüfen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="81"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="82"/>
        <source>Continue</source>
        <translation>Weiter</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="82"/>
        <source>Continue: check my return code</source>
        <translation>Weiter: Retourencode prüfen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="88"/>
        <source>A return code has 8 to 16 letters and digits. Please check it and try again.</source>
        <translation>Ein Retourencode hat 8 bis 16 Buchstaben und Ziffern. Bitte prüfen Sie ihn und versuchen Sie es erneut.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="90"/>
        <source>This return code is new here and cannot be checked just now. Please try again in a few minutes.</source>
        <translation>Dieser Retourencode ist hier neu und kann gerade nicht geprüft werden. Bitte versuchen Sie es in einigen Minuten erneut.</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/return_code.py" line="95"/>
        <source>That return code was not recognised, or it was used already. %n attempts left before a pause.</source>
        <translation>
            <numerusform>Dieser Retourencode wurde nicht erkannt oder ist schon verwendet. Noch %n Versuch bis zu einer Pause.</numerusform>
            <numerusform>Dieser Retourencode wurde nicht erkannt oder ist schon verwendet. Noch %n Versuche bis zu einer Pause.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_code.py" line="97"/>
        <source>That return code was not recognised, or it was used already.</source>
        <translation>Dieser Retourencode wurde nicht erkannt oder ist schon verwendet.</translation>
    </message>
</context>
<context>
    <name>ReturnSizeScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/return_size.py" line="45"/>
        <source>Your return needs a size %1 compartment</source>
        <translation>Ihre Retoure braucht ein Fach der Größe %1</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_size.py" line="47"/>
        <source>Tap the size. If your parcel turned out bigger, choose a bigger one.</source>
        <translation>Tippen Sie auf die Größe. Ist Ihr Paket größer geworden, wählen Sie eine größere.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_size.py" line="52"/>
        <source>Smaller than your return</source>
        <translation>Kleiner als Ihre Retoure</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_size.py" line="53"/>
        <source>Size %1: smaller than your return</source>
        <translation>Größe %1: kleiner als Ihre Retoure</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_size.py" line="55"/>
        <source>No free compartment</source>
        <translation>Kein Fach frei</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_size.py" line="56"/>
        <source>Size %1: no free compartment</source>
        <translation>Größe %1: kein Fach frei</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_size.py" line="58"/>
        <source>Your size</source>
        <translation>Ihre Größe</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_size.py" line="59"/>
        <source>Size %1, %2: your size</source>
        <translation>Größe %1, %2: Ihre Größe</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_size.py" line="62"/>
        <source>Size %1, %2</source>
        <translation>Größe %1, %2</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_size.py" line="66"/>
        <source>No compartment is free for your return right now. Please try again later.</source>
        <translation>Für Ihre Retoure ist gerade kein Fach frei. Bitte versuchen Sie es später erneut.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/return_size.py" line="68"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
</context>
<context>
    <name>TextKeypad</name>
    <message>
        <location filename="../kiosk/ui/text_entry.py" line="223"/>
        <source>Dash</source>
        <translation>Bindestrich</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/text_entry.py" line="224"/>
        <source>Delete the last character</source>
        <translation>Letztes Zeichen löschen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/text_entry.py" line="226"/>
        <source>OK</source>
        <translation>OK</translation>
    </message>
</context>
<context>
    <name>ThankYouScreen</name>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="48"/>
        <source>Thank you</source>
        <translation>Vielen Dank</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="50"/>
        <source>Thank you, we have passed your report on.</source>
        <translation>Vielen Dank, wir haben Ihre Meldung weitergeleitet.</translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/thank_you.py" line="54"/>
        <source>You picked up %n parcels.</source>
        <translation>
            <numerusform>Sie haben %n Paket abgeholt.</numerusform>
            <numerusform>Sie haben %n Pakete abgeholt.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="60"/>
        <source>Have a good day!</source>
        <translation>Einen schönen Tag noch!</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="64"/>
        <source>Pick up with your face next time</source>
        <translation>Künftig mit Gesicht abholen</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="68"/>
        <source>Report a problem</source>
        <translation>Problem melden</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="70"/>
        <source>Done</source>
        <translation>Fertig</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="75"/>
        <source>Your face is set up. Next time, just look at the camera.</source>
        <translation>Ihr Gesicht ist eingerichtet. Schauen Sie nächstes Mal einfach in die Kamera.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="77"/>
        <source>Your face data has been deleted.</source>
        <translation>Ihre Gesichtsdaten wurden gelöscht.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="81"/>
        <source>Your face was not set up: the camera did not see it clearly enough in time. Nothing was kept.</source>
        <translation>Ihr Gesicht wurde nicht eingerichtet: Die Kamera hat es nicht rechtzeitig deutlich genug gesehen. Es wurde nichts gespeichert.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="84"/>
        <source>Your face was not set up: the camera did not see the same person the whole time. Nothing was kept.</source>
        <translation>Ihr Gesicht wurde nicht eingerichtet: Die Kamera hat nicht die ganze Zeit dieselbe Person gesehen. Es wurde nichts gespeichert.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="87"/>
        <source>Your face could not be set up: face recognition is not available just now. Nothing was kept.</source>
        <translation>Ihr Gesicht konnte nicht eingerichtet werden: Die Gesichtserkennung ist gerade nicht verfügbar. Es wurde nichts gespeichert.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/thank_you.py" line="89"/>
        <source>Your face was not set up. Nothing was kept.</source>
        <translation>Ihr Gesicht wurde nicht eingerichtet. Es wurde nichts gespeichert.</translation>
    </message>
    <message>
        <location filename="../kiosk/ui/screens/face_consent.py" line="67"/>
        <location filename="../kiosk/ui/screens/thank_you.py" line="66"/>
        <source>Forget my face</source>
        <translation>Mein Gesicht vergessen</translation>
    </message>
</context>
</TS>
