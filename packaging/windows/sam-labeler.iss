; Inno Setup 6 script: a Windows installer for the PyInstaller bundle of packaging/sam-labeler.spec.
; Build on Windows, from the repository root:
;     python packaging\build.py
;     iscc /DAppVersion=0.1.0 packaging\windows\sam-labeler.iss      -> dist\sam-labeler-0.1.0-setup.exe
; It installs dist\sam-labeler\ (per user, or for all users when run as administrator), adds the Start
; menu entry, and registers .samlabel projects (icon, "Open" = the app; double-click opens the project).
; Not built or run on our Linux machines: review changes to it carefully.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "SAM Labeler"
#define AppExe "sam-labeler.exe"
#define ProgId "SAMLabeler.Project"

[Setup]
AppId={{5C8D1E2A-6B3F-4F0E-9A57-3D2B8C41E7A9}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=SAM Labeler
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
UninstallDisplayIcon={app}\{#AppExe}
OutputDir=..\..\dist
OutputBaseFilename=sam-labeler-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\sam-labeler.ico
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ChangesAssociations=yes
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\sam-labeler\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; HKA = HKLM for an all-users install, HKCU for a per-user one
Root: HKA; Subkey: "Software\Classes\.samlabel"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.samlabel"; ValueType: string; ValueName: "Content Type"; ValueData: "application/x-sam-labeler-project"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.samlabel\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "SAM Labeler project"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\_internal\resources\icons\application-x-sam-labeler-project.ico"
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".samlabel"; ValueData: ""; Flags: uninsdeletekey

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
